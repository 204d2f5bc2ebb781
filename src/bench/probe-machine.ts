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
  /**
   * The same product with int8 weights (onnxruntime's DynamicQuantizeMatMul), for graphs `model export --int8`
   * quantised: 2·m·k·n / median time. Measured when the probe is asked to (`int8`).
   */
  readonly int8MatmulGflops?: number
  /**
   * One `session.run` of a one-node graph (an 8×8 MatMul): the fixed cost of a call through onnxruntime-node
   * (feeds, the run, the output tensor), paid once per graph call whatever the graph does. Absent in reports
   * written before it was measured.
   */
  readonly callOverheadMs?: Stat
  /**
   * Weight streaming at the sizes of the model's graphs (`streamBytes`): small weights stay in the CPU's caches
   * between calls, so a small graph can read them far faster than the large probe's `bandwidthGBs`.
   */
  readonly streams?: readonly StreamProbe[]
  /**
   * The same bandwidth, stream and matmul probes on one thread (when `threads` > 1): what one core reaches, for
   * the work the cores share (a stage run on one core beside another stage). Absent in older reports.
   */
  readonly perCore?: PerCoreProbe
}

/** The probe's rates on a single thread. */
export interface PerCoreProbe {
  readonly bandwidthGBs: number
  readonly matmulGflops: number
  readonly int8MatmulGflops?: number
  readonly streams: readonly StreamProbe[]
}

/** y = x·W with x [1, k] and W of about `weightMb` MB, one read of W per call; its GB/s with the call overhead taken out. */
export interface StreamProbe {
  readonly weightMb: number
  readonly ms: Stat
  /** W bytes / (median time − median call overhead). */
  readonly bandwidthGBs: number
}

export interface ProbeMachineParams {
  /** Intra-op threads of the probe sessions (the engine's FlowLM thread count). */
  readonly threads: number
  /** Rows = columns of the bandwidth probe's square W (8192 → 256 MB, larger than any CPU cache here). @default 8192 */
  readonly bandwidthSide?: number
  /** Timed calls per probe. @default 10 */
  readonly repeats?: number
  /** Also stream weights of these sizes in bytes (the model's graphs); sizes at or above the large probe's reuse it. @default none */
  readonly streamBytes?: readonly number[]
  /** With `threads` > 1, also probe one thread (`perCore`). @default true */
  readonly perCore?: boolean
  /** Also time the in-cache product with int8 weights (`int8MatmulGflops`). @default false */
  readonly int8?: boolean
}

/** The in-cache matmul of the probe: [m, k] x [k, n]. */
const MATMUL_SHAPE = [256, 2048, 2048] as const

/** Timed calls of the call-overhead probe (each a few microseconds). */
const OVERHEAD_REPEATS = 200

async function timeCalls(model: Uint8Array, rows: number, k: number, threads: number, repeats: number): Promise<Stat> {
  const session = await ort.InferenceSession.create(model, sessionOptions({threads, allowSpinning: true}))
  try {
    const x = new ort.Tensor('float32', new Float32Array(rows * k).fill(0.01), [rows, k])
    for (let i = 0; i < Math.max(2, Math.min(20, repeats / 10)); i += 1) await session.run({x})
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
  const repeats = params.repeats ?? 10
  const callOverheadMs = await timeCalls(encodeMatMulModel({m: 1, k: 8, n: 8}), 1, 8, params.threads, OVERHEAD_REPEATS)
  const rates = await probeRates({...params, callOverheadMs, threads: params.threads, repeats})
  const perCore =
    params.threads > 1 && (params.perCore ?? true) ? await probeRates({...params, callOverheadMs, threads: 1, repeats}) : undefined
  return {
    threads: params.threads,
    bandwidthWeightMb: rates.bandwidthWeightMb,
    bandwidthMs: rates.bandwidthMs,
    bandwidthGBs: rates.bandwidthGBs,
    matmulShape: MATMUL_SHAPE,
    matmulMs: rates.matmulMs,
    matmulGflops: rates.matmulGflops,
    ...(rates.int8MatmulGflops === undefined ? {} : {int8MatmulGflops: rates.int8MatmulGflops}),
    callOverheadMs,
    streams: rates.streams,
    ...(perCore === undefined
      ? {}
      : {
          perCore: {
            bandwidthGBs: perCore.bandwidthGBs,
            matmulGflops: perCore.matmulGflops,
            ...(perCore.int8MatmulGflops === undefined ? {} : {int8MatmulGflops: perCore.int8MatmulGflops}),
            streams: perCore.streams,
          },
        }),
  }
}

/** The large bandwidth probe, the in-cache matmul and the stream probes on `threads` threads. */
async function probeRates(params: ProbeMachineParams & {readonly callOverheadMs: Stat; readonly repeats: number}) {
  const {threads, repeats, callOverheadMs} = params
  const side = params.bandwidthSide ?? 8192
  const bandwidthMs = await timeCalls(encodeMatMulModel({m: 1, k: side, n: side}), 1, side, threads, repeats)
  const [m, k, n] = MATMUL_SHAPE
  const matmulMs = await timeCalls(encodeMatMulModel({m, k, n}), m, k, threads, repeats)
  const int8Ms = params.int8 === true ? await timeCalls(encodeMatMulModel({m, k, n, int8: true}), m, k, threads, repeats) : undefined
  const weightBytes = side * side * 4
  const streams: StreamProbe[] = []
  for (const bytes of params.streamBytes ?? []) {
    const streamSide = streamSideFor(bytes, side)
    if (streamSide === null) continue
    const ms = await timeCalls(encodeMatMulModel({m: 1, k: streamSide, n: streamSide}), 1, streamSide, threads, repeats)
    const streamBytes = streamSide * streamSide * 4
    streams.push({
      weightMb: streamBytes / 1e6,
      ms,
      bandwidthGBs: streamBytes / (Math.max(1e-6, ms.median - callOverheadMs.median) / 1000) / 1e9,
    })
  }
  return {
    bandwidthWeightMb: weightBytes / 1e6,
    bandwidthMs,
    bandwidthGBs: weightBytes / (bandwidthMs.median / 1000) / 1e9,
    matmulMs,
    matmulGflops: (2 * m * k * n) / (matmulMs.median / 1000) / 1e9,
    ...(int8Ms === undefined ? {} : {int8MatmulGflops: (2 * m * k * n) / (int8Ms.median / 1000) / 1e9}),
    streams,
  }
}

/**
 * The side of the square fp32 W that holds about `bytes` (a multiple of 16, at least 16), or null when the large
 * probe (side `largeSide`) already covers that size.
 */
export function streamSideFor(bytes: number, largeSide: number): number | null {
  if (!(bytes > 0)) return null
  const side = Math.max(16, Math.round(Math.sqrt(bytes / 4) / 16) * 16)
  return side >= largeSide ? null : side
}

/** The probe's in-cache matmul kept open, to be timed between other work (interleaved with what it bounds). */
export interface MatmulProbe {
  /** Times one call: its GFLOP/s. */
  rate(): Promise<number>
  release(): Promise<void>
}

/** Opens the in-cache matmul of `probeMachine` on `threads` threads (warmed up), with int8 weights when `int8`. */
export async function openMatmulProbe(threads: number, int8 = false): Promise<MatmulProbe> {
  const [m, k, n] = MATMUL_SHAPE
  const session = await ort.InferenceSession.create(encodeMatMulModel({m, k, n, int8}), sessionOptions({threads, allowSpinning: true}))
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
