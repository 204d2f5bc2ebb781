import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {
  SPEECH_FORMATS,
  SPEECH_FORMAT_INFO,
  createTimeStretch,
  speechFormatUnavailable,
  toInt16,
  type SpeechFormat,
} from '../../src/audio/index.js'
import {CHROMIUM_NOTE, RUN_BROWSER_TESTS, launchChromium, type TestBrowser} from '../helpers/chromium.js'
import {align, decodeAudio, decodeInBrowser, halve} from '../helpers/decode-audio.js'

const RATE = 24_000
const FRAME = 1920 // one model frame (80 ms at 24 kHz)

/** 2 s of a voiced-speech-like signal: a 140 Hz source with vibrato, ten harmonics, syllable-rate envelope. */
function speechLike(seconds = 2): Float32Array {
  const out = new Float32Array(Math.round(seconds * RATE))
  let phase = 0
  for (let i = 0; i < out.length; i += 1) {
    const t = i / RATE
    phase += (2 * Math.PI * (140 + 10 * Math.sin(2 * Math.PI * 5 * t))) / RATE
    let s = 0
    for (let h = 1; h <= 10; h += 1) s += Math.sin(h * phase) / h
    out[i] = 0.25 * s * (0.55 + 0.45 * Math.sin(2 * Math.PI * 4 * t))
  }
  return out
}

async function encode(format: SpeechFormat, signal: Float32Array): Promise<{bytes: Uint8Array; firstWriteBytes: number}> {
  const encoder = await SPEECH_FORMAT_INFO[format].open({sampleRate: RATE})
  const parts: Uint8Array[] = []
  try {
    for (let i = 0; i < signal.length; i += FRAME) parts.push(await encoder.write(signal.subarray(i, i + FRAME)))
    parts.push(await encoder.end())
  } finally {
    encoder.dispose()
  }
  // bytes out before the end: the format streams
  const firstWriteBytes = parts.slice(0, 3).reduce((sum, p) => sum + p.length, 0)
  return {bytes: Buffer.concat(parts), firstWriteBytes}
}

describe('speech formats, each decoded back by an independent decoder', () => {
  const signal = speechLike()

  it('mp3 (lamejs) decodes with mpg123: 24 kHz, the same length plus the codec delay, the same signal', async () => {
    const {bytes, firstWriteBytes} = await encode('mp3', signal)
    expect(firstWriteBytes).toBeGreaterThan(0)
    const decoded = await decodeAudio('mp3', bytes)
    expect(decoded.sampleRate).toBe(RATE)
    expect(decoded.samples.length).toBeGreaterThanOrEqual(signal.length)
    expect(decoded.samples.length).toBeLessThan(signal.length + 0.2 * RATE)
    const match = align(signal, decoded.samples, 3000)
    expect(match.correlation).toBeGreaterThan(0.95)
    expect(match.energyRatio).toBeGreaterThan(0.8)
    expect(match.energyRatio).toBeLessThan(1.2)
  })

  it('opus (opusscript, Ogg) decodes with ogg-opus-decoder: the input length at 48 kHz, the same signal', async () => {
    const {bytes, firstWriteBytes} = await encode('opus', signal)
    expect(Buffer.from(bytes.subarray(0, 4)).toString('ascii')).toBe('OggS')
    expect(firstWriteBytes).toBeGreaterThan(100) // headers and the first pages
    const decoded = await decodeAudio('opus', bytes)
    expect(decoded.sampleRate).toBe(48_000)
    // the last page's granule is pre-skip + the input length at 48 kHz (RFC 7845 end trimming)
    const last = Buffer.from(bytes).lastIndexOf('OggS')
    expect(Buffer.from(bytes).readBigInt64LE(last + 6)).toBe(BigInt(312 + signal.length * 2))
    expect(bytes[last + 5]! & 0x04).toBe(0x04) // end of stream
    // this decoder trims the pre-skip a second time at the end; within it, the length is the input's
    expect(decoded.samples.length).toBeGreaterThanOrEqual(signal.length * 2 - 312)
    expect(decoded.samples.length).toBeLessThanOrEqual(signal.length * 2)
    const match = align(signal, halve(decoded.samples), 200)
    expect(match.lag).toBeLessThan(20)
    expect(match.correlation).toBeGreaterThan(0.9)
    expect(match.energyRatio).toBeGreaterThan(0.7)
    expect(match.energyRatio).toBeLessThan(1.3)
  })

  it('flac (libFLAC) decodes with @wasm-audio-decoders/flac to exactly the 16-bit samples', async () => {
    const {bytes, firstWriteBytes} = await encode('flac', signal)
    expect(Buffer.from(bytes.subarray(0, 4)).toString('ascii')).toBe('fLaC')
    expect(firstWriteBytes).toBeGreaterThan(0)
    const decoded = await decodeAudio('flac', bytes)
    expect(decoded.sampleRate).toBe(RATE)
    expect(decoded.samples.length).toBe(signal.length)
    let mismatches = 0
    // this decoder scales by 1/32767
    for (let i = 0; i < signal.length; i += 1) if (Math.round(decoded.samples[i]! * 32767) !== toInt16(signal[i]!)) mismatches += 1
    expect(mismatches).toBe(0)
  })

  it('wav and pcm: 16-bit samples, a streaming WAV header before them', async () => {
    const wav = Buffer.from((await encode('wav', signal)).bytes)
    const pcm = Buffer.from((await encode('pcm', signal)).bytes)
    expect(pcm.length).toBe(signal.length * 2)
    expect(wav.toString('ascii', 0, 4)).toBe('RIFF')
    expect(wav.subarray(44).equals(pcm)).toBe(true)
    expect(pcm.readInt16LE(2000)).toBe(toInt16(signal[1000]!))
  })

  describe.runIf(RUN_BROWSER_TESTS)(`aac, decoded by chromium${CHROMIUM_NOTE}`, () => {
    let browser: TestBrowser
    beforeAll(async () => {
      browser = await launchChromium()
    })
    afterAll(async () => browser?.close())

    it('aac (FFmpeg, ADTS) decodes in chromium: the same length plus the codec delay, the same signal', async () => {
      const {bytes} = await encode('aac', signal)
      expect(bytes[0]).toBe(0xff) // ADTS sync word
      expect(bytes[1]! & 0xf0).toBe(0xf0)
      const page = await browser.newPage()
      const decoded = await decodeInBrowser(page, bytes, RATE)
      expect(decoded.samples.length).toBeGreaterThanOrEqual(signal.length)
      expect(decoded.samples.length).toBeLessThan(signal.length + 0.2 * RATE)
      const match = align(signal, decoded.samples, 3000)
      expect(match.correlation).toBeGreaterThan(0.9)
      expect(match.energyRatio).toBeGreaterThan(0.7)
      expect(match.energyRatio).toBeLessThan(1.3)
    })
  })
})

describe('optional encoders', () => {
  it('every format is available here (the optional @ffmpeg/core is installed by npm install)', () => {
    expect(SPEECH_FORMATS.map((f) => speechFormatUnavailable(f))).toEqual(SPEECH_FORMATS.map(() => undefined))
    expect(SPEECH_FORMAT_INFO.aac.optionalPackage?.installed()).toBe(true)
  })

  it('a format whose optional package is missing is named with the install command', () => {
    const table = {...SPEECH_FORMAT_INFO, aac: {optionalPackage: {name: '@ffmpeg/core', installed: () => false}}}
    expect(speechFormatUnavailable('aac', table)).toBe(
      'aac needs the optional package @ffmpeg/core, which is not installed; install it with npm install @ffmpeg/core.',
    )
    expect(speechFormatUnavailable('mp3', table)).toBeUndefined()
  })
})

describe('time stretch (soundtouchjs WSOLA)', () => {
  /** The strongest period by autocorrelation, in Hz, between 80 and 1000 Hz. */
  function pitchHz(samples: Float32Array): number {
    const mid = samples.subarray(Math.floor(samples.length / 4), Math.floor((3 * samples.length) / 4))
    let best = 0
    let bestLag = 0
    for (let lag = Math.floor(RATE / 1000); lag <= RATE / 80; lag += 1) {
      let sum = 0
      for (let i = 0; i + lag < mid.length; i += 1) sum += mid[i]! * mid[i + lag]!
      if (sum > best) [best, bestLag] = [sum, lag]
    }
    return RATE / bestLag
  }

  for (const speed of [0.25, 0.5, 2, 4]) {
    it(`speed ${speed}: duration divided by ${speed}, the pitch of a 220 Hz tone kept, its level kept`, () => {
      const tone = new Float32Array(RATE * 2).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 220 * i) / RATE))
      const stretch = createTimeStretch({speed, sampleRate: RATE})
      const parts: Float32Array[] = []
      for (let i = 0; i < tone.length; i += FRAME) parts.push(stretch.push(tone.subarray(i, i + FRAME)))
      parts.push(stretch.flush())
      const out = Float32Array.from(parts.flatMap((p) => Array.from(p)))
      expect(out.length).toBe(Math.round(tone.length / speed))
      expect(pitchHz(out)).toBeCloseTo(220, -1) // within 5 Hz
      const rms = Math.sqrt(out.subarray(out.length / 4, (3 * out.length) / 4).reduce((s, x) => s + x * x, 0) / (out.length / 2))
      expect(rms).toBeGreaterThan(0.3 / Math.SQRT2 - 0.05)
      expect(rms).toBeLessThan(0.3 / Math.SQRT2 + 0.05)
    })
  }

  it('refuses a speed outside 0.25-4', () => {
    expect(() => createTimeStretch({speed: 4.5, sampleRate: RATE})).toThrow(/0.25 to 4/)
    expect(() => createTimeStretch({speed: 0.2, sampleRate: RATE})).toThrow(/0.25 to 4/)
  })
})
