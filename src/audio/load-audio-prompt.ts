import {UsageError} from '../errors/index.js'
import {checkPromptAudio, type PromptAudioWarning} from './check-prompt-audio.js'
import {readWav, type WavAudio, type WavSampleFormat} from './read-wav.js'
import {resamplePoly} from './resample-poly.js'

export interface LoadAudioPromptParams {
  /** A WAV voice prompt. */
  readonly path: string
  /** Keep only the first N seconds, counted in source samples (upstream export-voice: 30; null: all). @default 30 */
  readonly truncateSeconds?: number | null
  /** The model's sample rate. @default 24000 */
  readonly sampleRate?: number
}

export interface AudioPrompt {
  /** Mono samples at `sampleRate`: the Mimi encoder's input (before its own padding to 1920). */
  readonly audio: Float32Array
  readonly sampleRate: number
  readonly source: {
    readonly sampleRate: number
    readonly channels: number
    readonly format: WavSampleFormat
    /** Samples per channel in the file. */
    readonly samples: number
    readonly truncated: boolean
  }
  /** A silent or very short prompt (checkPromptAudio); empty when the prompt looks usable. */
  readonly warnings: readonly PromptAudioWarning[]
}

/**
 * Upstream's voice-prompt reading (`audio_read`, optional 30 s truncation, `convert_audio`): read, average
 * channels, keep the first `int(truncateSeconds * source_rate)` samples, then resample with
 * `resample_poly(up, down)` from the gcd-reduced rate ratio.
 */
export async function loadAudioPrompt(params: LoadAudioPromptParams): Promise<AudioPrompt> {
  const wav = await readWav({path: params.path})
  return audioPromptFromWav({
    wav,
    source: params.path,
    truncateSeconds: params.truncateSeconds === undefined ? 30 : params.truncateSeconds,
    ...(params.sampleRate === undefined ? {} : {sampleRate: params.sampleRate}),
  })
}

export interface AudioPromptFromWavParams {
  /** Decoded WAV audio (`readWav`, or `decodeWav` of uploaded bytes). */
  readonly wav: WavAudio
  /** Named in errors. */
  readonly source: string
  /** Keep only the first N seconds, counted in source samples; null: all. */
  readonly truncateSeconds: number | null
  /** The model's sample rate. @default 24000 */
  readonly sampleRate?: number
}

/**
 * `loadAudioPrompt` on audio already decoded: refuse non-finite samples and absurd sample rates
 * (`checkPromptAudio`), truncate, then resample to the model's rate.
 */
export function audioPromptFromWav(params: AudioPromptFromWavParams): AudioPrompt {
  const {wav, truncateSeconds} = params
  const {warnings} = checkPromptAudio({wav, source: params.source})
  const sampleRate = params.sampleRate ?? 24000
  let samples = wav.samples
  let truncated = false
  if (truncateSeconds !== null) {
    const max = Math.trunc(truncateSeconds * wav.sampleRate)
    if (samples.length > max) {
      samples = samples.subarray(0, max)
      truncated = true
    }
  }
  if (samples.length === 0) {
    throw new UsageError({
      code: 'AUDIO_EMPTY',
      message: `${params.source} has no audio samples.`,
      hint: 'Use a prompt of a few seconds of clear speech.',
      details: {path: params.source},
    })
  }
  const audio =
    wav.sampleRate === sampleRate ? Float32Array.from(samples) : resamplePoly({input: samples, up: sampleRate, down: wav.sampleRate})
  return {
    audio,
    sampleRate,
    source: {sampleRate: wav.sampleRate, channels: wav.channels, format: wav.format, samples: wav.samples.length, truncated},
    warnings,
  }
}
