import {CancelledError} from '../errors/index.js'
import type {EngineModel} from '../engine/engine-model.js'
import {generateAudio} from '../engine/generate-audio.js'
import type {GenerationParams} from '../engine/generation-params.js'
import {SeededNormalNoise} from '../engine/noise/index.js'
import type {ResolvedVoice} from '../engine/resolve-voice.js'
import type {BenchRun} from './bench-report.js'

export interface RunEngineBenchParams {
  readonly model: EngineModel
  readonly voice: ResolvedVoice
  readonly text: string
  readonly params: GenerationParams
  /** Noise seed of every run (each run does the same work). */
  readonly seed: number
  readonly runs: number
  readonly warmup: number
  readonly signal?: AbortSignal
  /** Called after each run (warm-up runs included, `measured` false). */
  readonly onRun?: (info: {readonly index: number; readonly total: number; readonly measured: boolean; readonly run: BenchRun}) => void
}

/** Times `generateAudio` as synth runs it (the voice is already loaded), run after run, with per-stage taps. */
export async function runEngineBench(params: RunEngineBenchParams): Promise<BenchRun[]> {
  const measured: BenchRun[] = []
  const total = params.warmup + params.runs
  for (let index = 0; index < total; index += 1) {
    if (params.signal?.aborted === true) throw new CancelledError({code: 'CANCELLED', message: 'The benchmark was cancelled.'})
    const run = await timeOneRun(params)
    const isMeasured = index >= params.warmup
    if (isMeasured) measured.push(run)
    params.onRun?.({index, total, measured: isMeasured, run})
  }
  return measured
}

async function timeOneRun(params: RunEngineBenchParams): Promise<BenchRun> {
  const {model} = params
  const noise = new SeededNormalNoise({seed: params.seed, temperature: params.params.temperature, clamp: params.params.noiseClamp})
  let text = 0
  let flowLm = 0
  let flowHead = 0
  let mimi = 0
  let steps = 0
  let timedSteps = 0 // steps with their own FlowLM call (the first of a chunk runs inside the prefill call)
  let tokens = 0
  let chunks = 0
  let frames = 0
  let firstAudio: number | null = null
  const start = performance.now()
  for await (const _frame of generateAudio({
    model,
    voice: params.voice.kv,
    text: params.text,
    params: params.params,
    noise,
    ...(params.signal === undefined ? {} : {signal: params.signal}),
    taps: {
      prefill: (info) => {
        text += info.embedMs + info.prefillMs
        tokens += info.tokens
        chunks += 1
      },
      step: (info) => {
        if (!Number.isNaN(info.flowLmMs)) {
          flowLm += info.flowLmMs
          timedSteps += 1
        }
        flowHead += info.flowHeadMs
        steps += 1
      },
      frame: (info) => {
        mimi += info.mimiMs
      },
    },
  })) {
    firstAudio ??= performance.now() - start
    frames += 1
  }
  const elapsedMs = performance.now() - start
  const audioSeconds = (frames * model.dims.frameSize) / model.dims.sampleRate
  return {
    frames,
    steps,
    chunks,
    tokens,
    audioSeconds,
    elapsedMs,
    realTimeFactor: ratio(elapsedMs / 1000, audioSeconds),
    speed: ratio(audioSeconds, elapsedMs / 1000),
    timeToFirstAudioMs: firstAudio ?? Number.NaN,
    msPerFrame: {
      wall: ratio(elapsedMs, frames),
      text: ratio(text, frames),
      flowLm: ratio(flowLm, timedSteps),
      flowHead: ratio(flowHead, steps),
      mimi: ratio(mimi, frames),
    },
  }
}

/** `total / count`, NaN when nothing was counted (summarize leaves NaN out of min/median/max). */
function ratio(total: number, count: number): number {
  return count === 0 ? Number.NaN : total / count
}
