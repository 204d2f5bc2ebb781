import {toInt16} from './encode-samples.js'

/**
 * One streaming audio encoder: float samples in, container bytes out as soon as the codec has them. Mono,
 * at the rate it was opened with. Bytes from `write` and `end`, concatenated in order, are the whole file.
 */
export interface SpeechEncoder {
  /** Encodes these samples; returns the bytes ready now (possibly none while the codec buffers). */
  write(samples: Float32Array): Promise<Uint8Array>
  /** Encodes what is buffered and closes the stream; returns the last bytes. */
  end(): Promise<Uint8Array>
  /** Frees the codec's memory; safe after `end` and more than once. */
  dispose(): void
}

export interface OpenEncoderParams {
  readonly sampleRate: number
}

/** Float samples to 16-bit integers with upstream's rule (clamp, scale by 32767, truncate). */
export function toInt16Array(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length)
  for (let i = 0; i < samples.length; i += 1) out[i] = toInt16(samples[i]!)
  return out
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!
  let total = 0
  for (const part of parts) total += part.length
  const out = new Uint8Array(total)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}
