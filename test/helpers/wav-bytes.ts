import {readFile} from 'node:fs/promises'
import wavefile from 'wavefile'

const {WaveFile} = wavefile

/** A mono WAV file's bytes: `float` writes 32-bit float samples as given (NaN included), else 16-bit PCM of them. */
export function wavBytes(params: {readonly sampleRate: number; readonly samples: ArrayLike<number>; readonly float?: boolean}): Buffer {
  const wav = new WaveFile()
  const values = Array.from(params.samples)
  if (params.float === true) wav.fromScratch(1, params.sampleRate, '32f', values)
  else
    wav.fromScratch(
      1,
      params.sampleRate,
      '16',
      values.map((x) => Math.round(Math.max(-1, Math.min(1, x)) * 32767)),
    )
  return Buffer.from(wav.toBuffer())
}

/** Two seconds of a 220 Hz tone at 24 kHz: a prompt that passes every check. */
export function toneSamples(seconds = 2, sampleRate = 24_000): Float32Array {
  return Float32Array.from({length: Math.round(seconds * sampleRate)}, (_, i) => 0.3 * Math.sin((2 * Math.PI * 220 * i) / sampleRate))
}

/** The float samples of a `synth --format wavf32` file (the bytes after its `data` chunk header). */
export async function readWavF32(path: string): Promise<Float32Array> {
  const wav = await readFile(path)
  const data = wav.indexOf('data') + 8
  return new Float32Array(wav.buffer.slice(wav.byteOffset + data, wav.byteOffset + wav.length))
}

/** 16-bit PCM bytes (a `pcm` speech answer) as samples. */
export function pcm16(bytes: Buffer): Int16Array {
  return new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))
}
