import {bytesPerSample, type AudioFormat} from './audio-format.js'

export interface WavHeaderParams {
  readonly format: Exclude<AudioFormat, 'pcm16'>
  readonly sampleRate: number
  /** Mono sample frames the data chunk holds (a placeholder when streaming). */
  readonly frames: number
}

/**
 * A mono WAV header: the 44-byte PCM header for `wav16` (as Python's `wave` writes it), or for `wavf32`
 * an IEEE-float `fmt ` chunk (cbSize 0) plus the `fact` chunk that non-PCM WAVs carry (58 bytes).
 */
export function wavHeader(params: WavHeaderParams): Buffer {
  const {format, sampleRate, frames} = params
  const width = bytesPerSample(format)
  const dataBytes = frames * width
  const float = format === 'wavf32'
  const header = Buffer.alloc(float ? 58 : 44)
  let p = 0
  const str = (s: string): void => {
    header.write(s, p, 'latin1')
    p += 4
  }
  const u32 = (v: number): void => {
    header.writeUInt32LE(v, p)
    p += 4
  }
  const u16 = (v: number): void => {
    header.writeUInt16LE(v, p)
    p += 2
  }
  str('RIFF')
  u32(header.length - 8 + dataBytes)
  str('WAVE')
  str('fmt ')
  u32(float ? 18 : 16)
  u16(float ? 3 : 1)
  u16(1)
  u32(sampleRate)
  u32(sampleRate * width)
  u16(width)
  u16(width * 8)
  if (float) {
    u16(0)
    str('fact')
    u32(4)
    u32(frames)
  }
  str('data')
  u32(dataBytes)
  return header
}

/** Largest frame count whose data and RIFF sizes still fit the 32-bit size fields. */
export function maxWavFrames(format: Exclude<AudioFormat, 'pcm16'>): number {
  return Math.floor((0xffffffff - 58) / bytesPerSample(format))
}
