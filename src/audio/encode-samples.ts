import {bytesPerSample, type AudioFormat} from './audio-format.js'

export interface EncodeSamplesParams {
  readonly samples: Float32Array
  readonly format: AudioFormat
}

/**
 * Sample bytes, little-endian. 16-bit formats use upstream's rule `(x.clamp(-1, 1) * 32767).short()`:
 * clamp, multiply in float32, truncate toward zero (NaN becomes 0). `wavf32` stores the floats unchanged.
 */
export function encodeSamples(params: EncodeSamplesParams): Buffer {
  const {samples, format} = params
  const out = Buffer.allocUnsafe(samples.length * bytesPerSample(format))
  if (format === 'wavf32') {
    for (let i = 0; i < samples.length; i += 1) out.writeFloatLE(samples[i]!, i * 4)
    return out
  }
  for (let i = 0; i < samples.length; i += 1) out.writeInt16LE(toInt16(samples[i]!), i * 2)
  return out
}

/** Upstream's float → int16 conversion of one sample. */
export function toInt16(x: number): number {
  if (Number.isNaN(x)) return 0
  return Math.trunc(Math.fround(Math.min(1, Math.max(-1, x)) * 32767)) | 0
}
