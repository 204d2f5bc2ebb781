import type {EngineDims} from '../engine/engine-model.js'
import {SeededNormalNoise} from '../engine/noise/index.js'
import {MimiDecoderStream, type ChainedState} from '../mimi/mimi-decoder-stream.js'
import {createSessions, MIMI_NO_MEM_PATTERN} from '../onnx/create-sessions.js'
import {openMatmulProbe} from './probe-machine.js'
import {summarize, type Stat} from './summarize.js'

export interface RunMimiAloneParams {
  /** The exported model folder. */
  readonly dir: string
  /** File names of the two Mimi graphs inside `dir`. */
  readonly files: {readonly latent_to_mimi: string; readonly mimi_decoder: string}
  readonly states: readonly ChainedState[]
  readonly dims: Pick<EngineDims, 'latentDim' | 'mimiInputDim'>
  /** Intra-op threads (the Mimi worker's). */
  readonly threads: number
  /** Frames decoded per run. */
  readonly frames: number
  /** Frames the `call`-th decode call carries (the engine's grouping: mimiCallFrames). */
  readonly callFrames: (call: number) => number
  readonly runs: number
  /** @default 1 */
  readonly warmup?: number
  /** @default 42 */
  readonly seed?: number
  /** The decoder's matmuls run on int8 weights (`model export --int8`): time the int8 matmul between the runs. @default false */
  readonly int8?: boolean
}

/** The Mimi decoder timed on its own (nothing else of the engine running), as the worker calls it. */
export interface MimiAloneTimes {
  readonly threads: number
  readonly frames: number
  /** Frames per decode call, call by call (the first is the first frame alone). */
  readonly calls: readonly number[]
  readonly runs: number
  /** Time of a run / frames (latent_to_mimi + mimi_decoder, the first frame's call included). */
  readonly msPerFrame: Stat
  /** The first call of a run, from the initial state (on the time-to-first-audio path). */
  readonly firstCallMs: Stat
  /** The in-cache matmul rate on the same threads, timed between the runs (the machine's load drifts). */
  readonly matmulGflops: Stat
  /** That matmul had int8 weights (an int8 decoder; absent in older reports: fp32). */
  readonly int8?: boolean
}

/** Matmul calls timed after each measured run. */
const MATMUL_CALLS_PER_RUN = 3

/**
 * Decodes `frames` random latents (seeded normal) through latent_to_mimi and mimi_decoder on this thread, grouped
 * as the engine groups them, `runs` times from the initial state: the Mimi decoder's own speed, free of the
 * FlowLM running beside it on the other cores. The matmul rate on the same threads is timed after each run, so
 * that the bound it gives sees the same load as the decoder did.
 */
export async function runMimiAlone(params: RunMimiAloneParams): Promise<MimiAloneTimes> {
  const sessions = await createSessions({
    dir: params.dir,
    files: params.files,
    threads: params.threads,
    allowSpinning: false,
    noMemPattern: MIMI_NO_MEM_PATTERN,
  })
  const matmul = await openMatmulProbe(params.threads, params.int8 ?? false)
  try {
    const stream = new MimiDecoderStream({
      latentToMimi: sessions.latent_to_mimi,
      decoder: sessions.mimi_decoder,
      states: params.states,
      mimiInputDim: params.dims.mimiInputDim,
      latentDim: params.dims.latentDim,
    })
    const calls: number[] = []
    for (let done = 0; done < params.frames; done += calls[calls.length - 1] as number)
      calls.push(Math.min(params.callFrames(calls.length), params.frames - done))
    const noise = new SeededNormalNoise({seed: params.seed ?? 42, temperature: 1})
    const latents = Array.from({length: params.frames}, () => noise.next(params.dims.latentDim))
    const perFrame: number[] = []
    const firstCall: number[] = []
    const rates: number[] = []
    const warmup = params.warmup ?? 1
    for (let run = 0; run < warmup + params.runs; run += 1) {
      stream.reset()
      const start = performance.now()
      let first = Number.NaN
      let done = 0
      for (const n of calls) {
        await stream.decodeLatents(latents.slice(done, done + n))
        done += n
        if (Number.isNaN(first)) first = performance.now() - start
      }
      const elapsed = performance.now() - start // the run alone: the matmul calls below are not the decoder's time
      if (run < warmup) continue
      for (let i = 0; i < MATMUL_CALLS_PER_RUN; i += 1) rates.push(await matmul.rate())
      perFrame.push(elapsed / params.frames)
      firstCall.push(first)
    }
    return {
      threads: params.threads,
      frames: params.frames,
      calls,
      runs: params.runs,
      msPerFrame: summarize(perFrame),
      firstCallMs: summarize(firstCall),
      matmulGflops: summarize(rates),
      int8: params.int8 ?? false,
    }
  } finally {
    await Promise.all([sessions.latent_to_mimi.release(), sessions.mimi_decoder.release(), matmul.release()])
  }
}
