import {encodeSamples, wavHeader} from '../audio/index.js'

/**
 * A waveform as the HTML report keeps it: a min/max envelope for drawing and a 16-bit WAV for an `<audio>`
 * player, both bounded whatever the length of the run (the float samples are not kept).
 */
export interface TraceWaveform {
  /** The compared tensor: `audio` (the whole case), `chunk0.audio` (a chunk), `audio` of a voice case (the prompt). */
  readonly tensor: string
  readonly sampleRate: number
  /** Samples of the compared waveform. */
  readonly samples: number
  /** Samples the WAV holds (the first ones; fewer than `samples` when the waveform was longer than the bound). */
  readonly wavSamples: number
  /** Mono 16-bit PCM WAV of the first `wavSamples` samples. */
  readonly wav: Uint8Array
  /** Per column, the smallest and largest sample of its span (rounded to 1e-5). */
  readonly min: readonly number[]
  readonly max: readonly number[]
}

export interface DigestWaveformParams {
  readonly tensor: string
  readonly samples: ArrayLike<number>
  readonly sampleRate: number
  /** Longest audio embedded for playing, in seconds. @default 60 */
  readonly maxSeconds?: number
  /** Columns of the drawn envelope. @default 800 */
  readonly columns?: number
}

/** The envelope and the bounded WAV of one waveform. */
export function digestWaveform(params: DigestWaveformParams): TraceWaveform {
  const {samples, sampleRate} = params
  const n = samples.length
  const columns = Math.max(1, Math.min(params.columns ?? 800, n))
  const min: number[] = []
  const max: number[] = []
  for (let c = 0; c < columns && n > 0; c += 1) {
    const from = Math.floor((c * n) / columns)
    const to = Math.max(from + 1, Math.floor(((c + 1) * n) / columns))
    let lo = Number.POSITIVE_INFINITY
    let hi = Number.NEGATIVE_INFINITY
    for (let i = from; i < to; i += 1) {
      const v = Number(samples[i])
      if (!Number.isFinite(v)) continue
      if (v < lo) lo = v
      if (v > hi) hi = v
    }
    min.push(Number.isFinite(lo) ? round(lo) : 0)
    max.push(Number.isFinite(hi) ? round(hi) : 0)
  }
  const wavSamples = Math.min(n, Math.floor((params.maxSeconds ?? 60) * sampleRate))
  const pcm = Float32Array.from({length: wavSamples}, (_, i) => Number(samples[i]))
  const wav = Buffer.concat([wavHeader({format: 'wav16', sampleRate, frames: wavSamples}), encodeSamples({samples: pcm, format: 'wav16'})])
  return {tensor: params.tensor, sampleRate, samples: n, wavSamples, wav: new Uint8Array(wav), min, max}
}

function round(v: number): number {
  return Math.round(v * 1e5) / 1e5
}
