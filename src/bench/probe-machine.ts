import * as ort from 'onnxruntime-node'
import {sessionOptions} from '../onnx/create-sessions.js'
import {encodeMatMulModel} from './matmul-model.js'
import {summarize, type Stat} from './summarize.js'

/** The machine's measured limits, with onnxruntime's own MatMul (what the engine's graphs run on). */
export interface MachineProbe {
  readonly threads: number
  /** y = x·W with x [1, k] and W of `bandwidthWeightMb` MB: one read of W per call, as a FlowLM step at batch 1. */
  readonly bandwidthWeightMb: number
  readonly bandwidthMs: Stat
  /** W bytes / median time. */
  readonly bandwidthGBs: number
  /** y = x·W with x [m, k] and W in cache: arithmetic-bound. */
  readonly matmulShape: readonly [number, number, number]
  readonly matmulMs: Stat
  /** 2·m·k·n / median time. */
  readonly matmulGflops: number
}

export interface ProbeMachineParams {
  /** Intra-op threads of the probe sessions (the engine's FlowLM thread count). */
  readonly threads: number
  /** Rows = columns of the bandwidth probe's square W (8192 → 256 MB, larger than any CPU cache here). @default 8192 */
  readonly bandwidthSide?: number
  /** Timed calls per probe. @default 10 */
  readonly repeats?: number
}

async function timeCalls(model: Uint8Array, rows: number, k: number, threads: number, repeats: number): Promise<Stat> {
  const session = await ort.InferenceSession.create(model, sessionOptions({threads, allowSpinning: true}))
  try {
    const x = new ort.Tensor('float32', new Float32Array(rows * k).fill(0.01), [rows, k])
    for (let i = 0; i < 2; i += 1) await session.run({x})
    const times: number[] = []
    for (let i = 0; i < repeats; i += 1) {
      const start = performance.now()
      await session.run({x})
      times.push(performance.now() - start)
    }
    return summarize(times)
  } finally {
    await session.release()
  }
}

/**
 * Measures the memory bandwidth a batch-1 matrix-vector product reaches (the FlowLM step's limit: every weight
 * read once per step) and the matrix-multiply rate of an in-cache product (Mimi's limit). Takes a few seconds
 * and ~1 GB of transient memory (the 256 MB weight, its copy inside onnxruntime and its packed form).
 */
export async function probeMachine(params: ProbeMachineParams): Promise<MachineProbe> {
  const side = params.bandwidthSide ?? 8192
  const repeats = params.repeats ?? 10
  const bandwidthMs = await timeCalls(encodeMatMulModel({m: 1, k: side, n: side}), 1, side, params.threads, repeats)
  const shape = [256, 2048, 2048] as const
  const matmulMs = await timeCalls(encodeMatMulModel({m: shape[0], k: shape[1], n: shape[2]}), shape[0], shape[1], params.threads, repeats)
  const weightBytes = side * side * 4
  return {
    threads: params.threads,
    bandwidthWeightMb: weightBytes / 1e6,
    bandwidthMs,
    bandwidthGBs: weightBytes / (bandwidthMs.median / 1000) / 1e9,
    matmulShape: shape,
    matmulMs,
    matmulGflops: (2 * shape[0] * shape[1] * shape[2]) / (matmulMs.median / 1000) / 1e9,
  }
}

/** The probe's in-cache matmul kept open, to be timed between other work (interleaved with what it bounds). */
export interface MatmulProbe {
  /** Times one call: its GFLOP/s. */
  rate(): Promise<number>
  release(): Promise<void>
}

/** Opens the in-cache matmul of `probeMachine` on `threads` threads (warmed up). */
export async function openMatmulProbe(threads: number): Promise<MatmulProbe> {
  const [m, k, n] = [256, 2048, 2048]
  const session = await ort.InferenceSession.create(encodeMatMulModel({m, k, n}), sessionOptions({threads, allowSpinning: true}))
  const x = new ort.Tensor('float32', new Float32Array(m * k).fill(0.01), [m, k])
  for (let i = 0; i < 2; i += 1) await session.run({x})
  return {
    rate: async () => {
      const start = performance.now()
      await session.run({x})
      return (2 * m * k * n) / ((performance.now() - start) / 1000) / 1e9
    },
    release: () => session.release(),
  }
}
