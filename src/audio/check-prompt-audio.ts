import {open} from 'node:fs/promises'
import {UsageError} from '../errors/index.js'
import {readWav, type WavAudio} from './read-wav.js'

/** Limits of a voice prompt (it is resampled to the model's rate; upstream's own voices are 8-11 s of speech). */
export const PROMPT_AUDIO_LIMITS = {
  /** Lowest sample rate accepted: telephone audio. */
  minSampleRate: 8000,
  /** Highest sample rate accepted. */
  maxSampleRate: 192_000,
  /** Shorter prompts get a warning: too little speech to carry a voice. */
  shortSeconds: 1,
  /** Prompts whose RMS is below this (dBFS) get a warning: silent or nearly so. */
  silentRmsDbfs: -60,
} as const

export type PromptAudioWarningCode = 'PROMPT_SILENT' | 'PROMPT_TOO_SHORT'

export interface PromptAudioWarning {
  readonly code: PromptAudioWarningCode
  readonly message: string
}

export interface PromptAudioReport {
  readonly seconds: number
  /** Root mean square level in dBFS (-Infinity for digital silence). */
  readonly rmsDbfs: number
  readonly warnings: readonly PromptAudioWarning[]
}

export interface CheckPromptAudioParams {
  readonly wav: WavAudio
  /** Named in messages. */
  readonly source: string
}

/**
 * Checks a decoded voice prompt before any work is done with it: non-finite samples (NaN/Inf in a float WAV,
 * `AUDIO_NOT_FINITE`) and a sample rate outside 8-192 kHz (`AUDIO_SAMPLE_RATE_UNSUPPORTED`) are refused; a
 * silent prompt or one shorter than 1 s is returned as a warning (the voice state would carry no voice).
 */
export function checkPromptAudio(params: CheckPromptAudioParams): PromptAudioReport {
  const {wav, source} = params
  const {minSampleRate, maxSampleRate, shortSeconds, silentRmsDbfs} = PROMPT_AUDIO_LIMITS
  if (!Number.isFinite(wav.sampleRate) || wav.sampleRate < minSampleRate || wav.sampleRate > maxSampleRate) {
    throw new UsageError({
      code: 'AUDIO_SAMPLE_RATE_UNSUPPORTED',
      message: `${source} has a sample rate of ${wav.sampleRate} Hz; a voice prompt must be ${minSampleRate}-${maxSampleRate} Hz.`,
      hint: 'Resample it, e.g. `ffmpeg -i in.wav -ar 24000 -ac 1 out.wav`.',
      details: {source, sampleRate: wav.sampleRate, min: minSampleRate, max: maxSampleRate},
    })
  }
  let nonFinite = 0
  let first = -1
  let sumSquares = 0
  for (let i = 0; i < wav.samples.length; i += 1) {
    const x = wav.samples[i]!
    if (!Number.isFinite(x)) {
      nonFinite += 1
      if (first < 0) first = i
      continue
    }
    sumSquares += x * x
  }
  if (nonFinite > 0) {
    throw new UsageError({
      code: 'AUDIO_NOT_FINITE',
      message: `${source} holds ${nonFinite} sample(s) that are NaN or infinite (the first at ${(first / wav.sampleRate).toFixed(3)} s); nothing was written.`,
      hint: 'The file is damaged or was written from broken data: export the prompt again as a 16-bit PCM WAV.',
      details: {source, nonFiniteSamples: nonFinite, firstIndex: first},
    })
  }
  const seconds = wav.samples.length / wav.sampleRate
  const rms = wav.samples.length === 0 ? 0 : Math.sqrt(sumSquares / wav.samples.length)
  const rmsDbfs = rms === 0 ? Number.NEGATIVE_INFINITY : 20 * Math.log10(rms)
  const warnings: PromptAudioWarning[] = []
  if (rmsDbfs < silentRmsDbfs) {
    warnings.push({
      code: 'PROMPT_SILENT',
      message:
        `${source} is silent or nearly so (RMS ${Number.isFinite(rmsDbfs) ? `${rmsDbfs.toFixed(1)} dBFS` : 'zero'}, ` +
        `below ${silentRmsDbfs} dBFS): the voice state will carry no voice.`,
    })
  }
  if (seconds < shortSeconds) {
    warnings.push({
      code: 'PROMPT_TOO_SHORT',
      message: `${source} holds ${seconds.toFixed(2)} s of audio, far too little to carry a voice (use 3-30 s of clear speech).`,
    })
  }
  return {seconds, rmsDbfs, warnings}
}

/**
 * `checkPromptAudio` on a prompt file before another tool reads it (upstream's Python export): WAV files are
 * decoded and checked; other formats (decoded by Python) are left to that tool and get no warnings here.
 */
export async function checkPromptFile(params: {readonly path: string}): Promise<PromptAudioReport | undefined> {
  const handle = await open(params.path, 'r')
  let head: Buffer
  try {
    head = Buffer.alloc(12)
    await handle.read(head, 0, 12, 0)
  } finally {
    await handle.close()
  }
  const isWav =
    (head.toString('latin1', 0, 4) === 'RIFF' || head.toString('latin1', 0, 4) === 'RF64') && head.toString('latin1', 8, 12) === 'WAVE'
  if (!isWav) return undefined
  return checkPromptAudio({wav: await readWav({path: params.path}), source: params.path})
}
