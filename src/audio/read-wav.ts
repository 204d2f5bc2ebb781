import {readFile} from 'node:fs/promises'
import wavefile from 'wavefile'
import {UsageError} from '../errors/index.js'

/** How the samples were stored in the file. */
export type WavSampleFormat = 'pcm8' | 'pcm16' | 'pcm24' | 'pcm32' | 'float32' | 'float64'

export interface WavAudio {
  /** Mono samples (channels averaged), nominally in [-1, 1]. */
  readonly samples: Float32Array
  readonly sampleRate: number
  readonly channels: number
  readonly format: WavSampleFormat
}

export interface ReadWavParams {
  readonly path: string
}

/** Reads and decodes a WAV file (see `decodeWav`). */
export async function readWav(params: ReadWavParams): Promise<WavAudio> {
  const bytes = await readFile(params.path).catch((error: unknown) => {
    throw new UsageError({
      code: 'AUDIO_NOT_FOUND',
      message: `Cannot read the audio file ${params.path} (${(error as NodeJS.ErrnoException).code ?? String(error)}).`,
      hint: 'Pass an existing WAV file.',
      details: {path: params.path},
      cause: error,
    })
  })
  return decodeWav({bytes, source: params.path})
}

export interface DecodeWavParams {
  readonly bytes: Uint8Array
  /** Named in errors. */
  readonly source: string
}

const {WaveFile} = wavefile

/**
 * Decodes WAV bytes the way upstream reads a voice prompt: 16-bit PCM is read as int16 / 32768 with the
 * channels averaged in float32 (upstream's `wave` path, exactly). Other PCM widths and float WAVs, which
 * upstream's reader misreads as int16, are decoded properly (int / 2^(bits-1), 8-bit unsigned centred,
 * floats as stored) and averaged the same way. Compressed codecs and big-endian RIFX are refused.
 */
export function decodeWav(params: DecodeWavParams): WavAudio {
  const {bytes, source} = params
  const unsupported = (what: string): UsageError =>
    new UsageError({
      code: 'AUDIO_FORMAT_UNSUPPORTED',
      message: `${source}: ${what} is not supported.`,
      hint: 'Convert the prompt to a PCM or float WAV, e.g. `ffmpeg -i in.mp3 -ar 24000 -ac 1 out.wav`.',
      details: {source},
    })
  const tag = Buffer.from(bytes.subarray(0, 4)).toString('latin1')
  if (tag === 'RIFX') throw unsupported('big-endian (RIFX) WAV')
  if ((tag !== 'RIFF' && tag !== 'RF64') || Buffer.from(bytes.subarray(8, 12)).toString('latin1') !== 'WAVE') {
    throw unsupported('audio that is not WAV (only WAV prompts can be read without Python)')
  }
  let wav: InstanceType<typeof WaveFile>
  try {
    wav = new WaveFile(bytes)
  } catch (error) {
    throw new UsageError({
      code: 'AUDIO_INVALID',
      message: `${source} is not a readable WAV file (${error instanceof Error ? error.message : String(error)}).`,
      hint: 'Check that the file is complete; re-encode it as a PCM WAV if needed.',
      details: {source},
      cause: error,
    })
  }
  const fmt = wav.fmt as {audioFormat: number; numChannels: number; sampleRate: number; bitsPerSample: number; subformat: number[]}
  const data = (wav.data as {samples: Uint8Array}).samples
  const code = fmt.audioFormat === 0xfffe ? (fmt.subformat[0] ?? 0) : fmt.audioFormat
  const format = sampleFormat(code, fmt.bitsPerSample)
  if (format === undefined)
    throw unsupported(`WAV format ${fmt.audioFormat}${fmt.audioFormat === 0xfffe ? `/${code}` : ''} with ${fmt.bitsPerSample}-bit samples`)
  const channels = fmt.numChannels
  if (!(channels >= 1) || !(fmt.sampleRate >= 1)) throw unsupported(`a WAV with ${channels} channels at ${fmt.sampleRate} Hz`)

  const width = fmt.bitsPerSample / 8
  const frames = Math.floor(data.length / (width * channels))
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const read = reader(format, view)
  const samples = new Float32Array(frames)
  for (let f = 0; f < frames; f += 1) {
    let sum = 0
    for (let c = 0; c < channels; c += 1) sum += read((f * channels + c) * width)
    // int16 / 32768 and small sums of them are exact in float32; the mean is rounded once, like numpy's.
    samples[f] = channels === 1 ? sum : sum / channels
  }
  return {samples, sampleRate: fmt.sampleRate, channels, format}
}

function sampleFormat(code: number, bits: number): WavSampleFormat | undefined {
  if (code === 1) return ({8: 'pcm8', 16: 'pcm16', 24: 'pcm24', 32: 'pcm32'} as const)[bits]
  if (code === 3) return ({32: 'float32', 64: 'float64'} as const)[bits]
  return undefined
}

function reader(format: WavSampleFormat, view: DataView): (byte: number) => number {
  switch (format) {
    case 'pcm8':
      return (b) => (view.getUint8(b) - 128) / 128
    case 'pcm16':
      return (b) => view.getInt16(b, true) / 32768
    case 'pcm24':
      return (b) => (view.getUint8(b) | (view.getUint8(b + 1) << 8) | (view.getInt8(b + 2) << 16)) / 8388608
    case 'pcm32':
      return (b) => view.getInt32(b, true) / 2147483648
    case 'float32':
      return (b) => view.getFloat32(b, true)
    case 'float64':
      return (b) => Math.fround(view.getFloat64(b, true))
  }
}
