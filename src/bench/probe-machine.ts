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
  /** The same matmul on the Mimi worker's thread count (the limit of the Mimi decoder alone); null when not asked. */
  readonly mimiMatmul: {readonly threads: number; readonly ms: Stat; readonly gflops: number} | null
}

export interface ProbeMachineParams {
  /** Intra-op threads of the probe sessions (the engine's FlowLM thread count). */
  readonly threads: number
  /** Rows = columns of the bandwidth probe's square W (8192 → 256 MB, larger than any CPU cache here). @default 8192 */
  readonly bandwidthSide?: number
  /** Timed calls per probe. @default 10 */
  readonly repeats?: number
  /** Also time the matmul on this many threads (the Mimi worker's) for the Mimi decoder's own bound. */
  readonly mimiThreads?: number
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
 * read once per step) and the matrix-multiply rate of an in-cache product (Mimi's limit; also on the Mimi worker's
 * thread count when asked). Takes a few seconds
 * and ~1 GB of transient memory (the 256 MB weight, its copy inside onnxruntime and its packed form).
 */
export async function probeMachine(params: ProbeMachineParams): Promise<MachineProbe> {
  const side = params.bandwidthSide ?? 8192
  const repeats = params.repeats ?? 10
  const bandwidthMs = await timeCalls(encodeMatMulModel({m: 1, k: side, n: side}), 1, side, params.threads, repeats)
  const shape = [256, 2048, 2048] as const
  const matmulMs = await timeCalls(encodeMatMulModel({m: shape[0], k: shape[1], n: shape[2]}), shape[0], shape[1], params.threads, repeats)
  const weightBytes = side * side * 4
  const flops = 2 * shape[0] * shape[1] * shape[2]
  const mimiMs =
    params.mimiThreads === undefined
      ? null
      : await timeCalls(encodeMatMulModel({m: shape[0], k: shape[1], n: shape[2]}), shape[0], shape[1], params.mimiThreads, repeats)
  return {
    threads: params.threads,
    bandwidthWeightMb: weightBytes / 1e6,
    bandwidthMs,
    bandwidthGBs: weightBytes / (bandwidthMs.median / 1000) / 1e9,
    matmulShape: shape,
    matmulMs,
    matmulGflops: flops / (matmulMs.median / 1000) / 1e9,
    mimiMatmul:
      mimiMs === null || params.mimiThreads === undefined
        ? null
        : {threads: params.mimiThreads, ms: mimiMs, gflops: flops / (mimiMs.median / 1000) / 1e9},
  }
}
