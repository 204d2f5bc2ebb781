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
