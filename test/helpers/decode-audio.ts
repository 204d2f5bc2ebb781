import {FLACDecoder} from '@wasm-audio-decoders/flac'
import {MPEGDecoder} from 'mpg123-decoder'
import {OggOpusDecoder} from 'ogg-opus-decoder'
import type {Page} from 'playwright-core'

/** Mono samples decoded from a file, at the rate they come out of the decoder. */
export interface DecodedAudio {
  readonly samples: Float32Array
  readonly sampleRate: number
}

/**
 * Decoders independent of the project's encoders: mpg123 (mp3), libopus' decoder in ogg-opus-decoder (Ogg
 * Opus), the FLAC decoder of @wasm-audio-decoders (flac). AAC has no such package in the registry; it goes
 * through chromium's decodeAudioData (`decodeInBrowser`).
 */
export async function decodeAudio(format: 'mp3' | 'opus' | 'flac', bytes: Uint8Array): Promise<DecodedAudio> {
  if (format === 'mp3') {
    const decoder = new MPEGDecoder()
    await decoder.ready
    try {
      const out = decoder.decode(bytes)
      expectNoErrors(out.errors)
      return {samples: out.channelData[0]!, sampleRate: out.sampleRate}
    } finally {
      decoder.free()
    }
  }
  const decoder = format === 'opus' ? new OggOpusDecoder() : new FLACDecoder()
  await decoder.ready
  try {
    const out = await decoder.decodeFile(bytes)
    expectNoErrors(out.errors)
    return {samples: out.channelData[0]!, sampleRate: out.sampleRate}
  } finally {
    decoder.free()
  }
}

/** Decodes any format chromium plays with the Web Audio API, resampled by it to `sampleRate`. */
export async function decodeInBrowser(page: Page, bytes: Uint8Array, sampleRate: number): Promise<DecodedAudio> {
  const samples = await page.evaluate(
    async ({base64, rate}) => {
      const data = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))
      const buffer = await new OfflineAudioContext(1, rate, rate).decodeAudioData(data.buffer)
      return Array.from(buffer.getChannelData(0))
    },
    {base64: Buffer.from(bytes).toString('base64'), rate: sampleRate},
  )
  return {samples: Float32Array.from(samples), sampleRate}
}

function expectNoErrors(errors: readonly {readonly message: string}[]): void {
  if (errors.length > 0) throw new Error(`decoder errors: ${errors.map((e) => e.message).join('; ')}`)
}

/** Every second sample (48 kHz Opus output against a 24 kHz original; Opus at 24 kHz has no content above 12 kHz). */
export function halve(samples: Float32Array): Float32Array {
  const out = new Float32Array(Math.floor(samples.length / 2))
  for (let i = 0; i < out.length; i += 1) out[i] = samples[2 * i]!
  return out
}

export interface Alignment {
  /** Samples by which `decoded` is late (codec delay). */
  readonly lag: number
  /** Normalised cross-correlation at that lag, over the overlap. */
  readonly correlation: number
  /** Energy of `decoded` over the overlap divided by that of `reference`. */
  readonly energyRatio: number
}

/** The lag in [0, maxLag] where `decoded` best matches `reference`, with the correlation and energy ratio there. */
export function align(reference: Float32Array, decoded: Float32Array, maxLag: number): Alignment {
  let best: Alignment = {lag: 0, correlation: -Infinity, energyRatio: 0}
  for (let lag = 0; lag <= maxLag; lag += 1) {
    const n = Math.min(reference.length, decoded.length - lag)
    let xy = 0
    let xx = 0
    let yy = 0
    for (let i = 0; i < n; i += 1) {
      const x = reference[i]!
      const y = decoded[i + lag]!
      xy += x * y
      xx += x * x
      yy += y * y
    }
    const correlation = xy / Math.sqrt(xx * yy || 1)
    if (correlation > best.correlation) best = {lag, correlation, energyRatio: yy / (xx || 1)}
  }
  return best
}

/** The signal minus its mean (codecs may drop a DC offset). */
export function withoutMean(samples: Float32Array): Float32Array {
  const mean = samples.reduce((sum, x) => sum + x, 0) / (samples.length || 1)
  return samples.map((x) => x - mean)
}
