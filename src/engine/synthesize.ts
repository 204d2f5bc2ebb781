import type {WavWriter, WavWriteSummary} from '../audio/index.js'
import type {EngineModel} from './engine-model.js'
import {generateAudio} from './generate-audio.js'
import type {GenerationParams} from './generation-params.js'
import type {GenerationTaps} from './generation-taps.js'
import type {NoiseSource} from './noise/index.js'
import type {ResolvedVoice} from './resolve-voice.js'

export interface SynthesizeParams {
  readonly model: EngineModel
  readonly voice: ResolvedVoice
  readonly text: string
  readonly params: GenerationParams
  readonly noise: NoiseSource
  /** Receives each frame as soon as it is decoded. */
  readonly writer: WavWriter
  readonly signal?: AbortSignal
  readonly taps?: GenerationTaps
  /** Called after each frame is written. */
  readonly onFrame?: (info: {readonly chunk: number; readonly frame: number; readonly chunks: number}) => void
}

export interface SynthesisReport {
  readonly frames: number
  readonly chunks: number
  /** Generated audio, trailing silence excluded. */
  readonly audioSeconds: number
  readonly elapsedMs: number
  /** From the start of generation (voice already loaded) to the first decoded frame. */
  readonly timeToFirstAudioMs: number | null
  /** Compute time / audio time (< 1 is faster than real time). */
  readonly realTimeFactor: number
  /** Audio time / compute time ("x faster than real time"). */
  readonly speed: number
  readonly eosSteps: readonly (number | null)[]
  readonly output: WavWriteSummary
}

/** Runs the generation loop into a progressive writer; on failure or cancel the writer is aborted. */
export async function synthesize(params: SynthesizeParams): Promise<SynthesisReport> {
  const {model, writer} = params
  const start = performance.now()
  let firstAudio: number | null = null
  let frames = 0
  const eosSteps: (number | null)[] = []
  const taps: GenerationTaps = {
    ...params.taps,
    chunkEnd: (info) => {
      eosSteps.push(info.eosStep)
      params.taps?.chunkEnd?.(info)
    },
  }
  try {
    for await (const frame of generateAudio({
      model,
      voice: params.voice.kv,
      text: params.text,
      params: params.params,
      noise: params.noise,
      taps,
      ...(params.signal === undefined ? {} : {signal: params.signal}),
    })) {
      firstAudio ??= performance.now() - start
      await writer.write(frame.audio)
      frames += 1
      params.onFrame?.({chunk: frame.chunk, frame: frame.frame, chunks: eosSteps.length + 1})
    }
  } catch (error) {
    await writer.abort()
    throw error
  }
  const output = await writer.close()
  const elapsedMs = performance.now() - start
  const audioSeconds = (frames * model.dims.frameSize) / model.dims.sampleRate
  return {
    frames,
    chunks: eosSteps.length,
    audioSeconds,
    elapsedMs,
    timeToFirstAudioMs: firstAudio,
    realTimeFactor: audioSeconds === 0 ? 0 : elapsedMs / 1000 / audioSeconds,
    speed: elapsedMs === 0 ? 0 : audioSeconds / (elapsedMs / 1000),
    eosSteps,
    output,
  }
}
