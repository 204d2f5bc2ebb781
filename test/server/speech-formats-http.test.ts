import OpenAI from 'openai'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {embeddedModelDir} from '../../src/config/project-paths.js'
import {loadEngineModel, type EngineModel} from '../../src/engine/engine-model.js'
import {CHROMIUM_NOTE, RUN_BROWSER_TESTS, launchChromium, type TestBrowser} from '../helpers/chromium.js'
import {align, decodeAudio, decodeInBrowser, halve, withoutMean, type DecodedAudio} from '../helpers/decode-audio.js'
import {NEVER_EOS, postSpeech, readAll, startTestServer, type TestServer} from '../helpers/server.js'

const RATE = 24_000
const TEXT = 'Formats and speeds.'

/** 16-bit PCM bytes to floats. */
function pcmFloats(bytes: Buffer): Float32Array {
  const out = new Float32Array(bytes.length / 2)
  for (let i = 0; i < out.length; i += 1) out[i] = bytes.readInt16LE(2 * i) / 32768
  return out
}

/**
 * Every OpenAI format and `speed` over HTTP on the embedded fixture model, each answer decoded back by a
 * decoder independent of its encoder and compared with the `pcm` answer of the same seed.
 */
describe('POST /v1/audio/speech formats and speed on the embedded fixture model', () => {
  let model: EngineModel
  let t: TestServer
  let reference: Float32Array
  beforeAll(async () => {
    model = await loadEngineModel({dir: embeddedModelDir(), threads: 1})
    t = await startTestServer({model})
    reference = pcmFloats(await readAll(await speech({response_format: 'pcm'})))
  })
  afterAll(async () => {
    await t?.close()
    await model?.release()
  })

  function speech(fields: Record<string, unknown>): Promise<Response> {
    return postSpeech(t.url, {model: 'tts-1', input: TEXT, voice: 'voice', seed: 5, ...fields})
  }

  /**
   * The decoded answer has the reference's duration (plus the codec's delay and padding) and its signal: after
   * removing each one's mean, the waveforms correlate at their best alignment and carry the same energy. (The
   * random-weight fixture model's babble sits on a DC offset of about -0.09 that Opus' encoder filters out.)
   */
  function expectSameSignal(decoded: DecodedAudio, minCorrelation: number, maxExtraSeconds: number): void {
    const samples = decoded.sampleRate === 48_000 ? halve(decoded.samples) : decoded.samples
    expect(samples.length).toBeGreaterThanOrEqual(reference.length - 400)
    expect(samples.length).toBeLessThanOrEqual(reference.length + maxExtraSeconds * RATE)
    const match = align(withoutMean(reference), withoutMean(samples), 3000)
    expect(match.correlation).toBeGreaterThan(minCorrelation)
    expect(match.energyRatio).toBeGreaterThan(0.7)
    expect(match.energyRatio).toBeLessThan(1.3)
  }

  it('answers mp3 by default (OpenAI default) as audio/mpeg, decoded by mpg123 to the same signal', async () => {
    const res = await speech({})
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('audio/mpeg')
    const decoded = await decodeAudio('mp3', await readAll(res))
    expect(decoded.sampleRate).toBe(RATE)
    expectSameSignal(decoded, 0.9, 0.2)
  })

  it('answers opus as audio/opus (Ogg), decoded by ogg-opus-decoder to the same signal', async () => {
    const res = await speech({response_format: 'opus'})
    expect(res.headers.get('content-type')).toBe('audio/opus')
    const bytes = await readAll(res)
    expect(bytes.toString('ascii', 0, 4)).toBe('OggS')
    expectSameSignal(await decodeAudio('opus', bytes), 0.9, 0.02)
  })

  it('answers flac as audio/flac, decoded by @wasm-audio-decoders/flac to exactly the pcm samples', async () => {
    const res = await speech({response_format: 'flac'})
    expect(res.headers.get('content-type')).toBe('audio/flac')
    const decoded = await decodeAudio('flac', await readAll(res))
    expect(decoded.samples.length).toBe(reference.length)
    // this decoder scales by 1/32767; the integers are the pcm answer's
    let mismatches = 0
    for (let i = 0; i < reference.length; i += 1)
      if (Math.round(decoded.samples[i]! * 32767) !== Math.round(reference[i]! * 32768)) mismatches += 1
    expect(mismatches).toBe(0)
  })

  it('streams each format over SSE: the deltas decode to the same audio as the plain answer', async () => {
    for (const format of ['mp3', 'opus', 'flac'] as const) {
      const res = await speech({response_format: format, stream_format: 'sse'})
      expect(res.headers.get('content-type')).toBe('text/event-stream')
      const text = await res.text()
      const audio = Buffer.concat(
        text
          .split('\n\n')
          .filter((b) => b.includes('speech.audio.delta'))
          .map((b) => Buffer.from((JSON.parse(b.slice(6)) as {audio: string}).audio, 'base64')),
      )
      expect(text).toContain('speech.audio.done')
      expectSameSignal(await decodeAudio(format, audio), 0.9, 0.2)
    }
  })

  it.each(['mp3', 'opus', 'flac', 'wav', 'pcm'] as const)(
    '%s streams: its first bytes arrive while the generation is still running (aac comes whole at the end)',
    async (format) => {
      const long = await startTestServer({model, generation: NEVER_EOS})
      try {
        const text = 'A long answer that never meets its end of speech. '.repeat(4)
        const res = await postSpeech(long.url, {model: 'tts-1', input: text, voice: 'voice', seed: 1, response_format: format})
        const reader = res.body!.getReader()
        const first = await reader.read()
        expect(first.value?.length).toBeGreaterThan(0)
        const ready = (await (await fetch(`${long.url}/ready`)).json()) as {active: number}
        expect(ready.active).toBe(1) // the generation has not finished: the bytes were streamed
        while (!(await reader.read()).done);
      } finally {
        await long.close()
      }
    },
  )

  for (const speed of [0.25, 0.5, 2, 4]) {
    it(`speed ${speed}: the pcm answer lasts 1/${speed} as long`, async () => {
      const res = await speech({response_format: 'pcm', speed})
      expect(res.status).toBe(200)
      const stretched = await readAll(res)
      expect(stretched.length / 2).toBe(Math.round(reference.length / speed))
    })
  }

  it.each([
    ['0.2', 0.2],
    ['4.5', 4.5],
    ['a string', '2'],
    ['zero', 0],
  ])('refuses speed %s with a 400 naming the range', async (_name, speed) => {
    const res = await speech({speed})
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({
      error: {message: expect.stringContaining('from 0.25 to 4'), type: 'invalid_request_error', param: 'speed', code: 'invalid_value'},
    })
  })

  describe.runIf(RUN_BROWSER_TESTS)(`aac, decoded by chromium${CHROMIUM_NOTE}`, () => {
    let browser: TestBrowser
    beforeAll(async () => {
      browser = await launchChromium()
    })
    afterAll(async () => browser?.close())

    it('answers aac as audio/aac (ADTS), decoded by chromium to the same signal', async () => {
      const res = await speech({response_format: 'aac'})
      expect(res.headers.get('content-type')).toBe('audio/aac')
      const bytes = await readAll(res)
      const decoded = await decodeInBrowser(await browser.newPage(), bytes, RATE)
      expectSameSignal(decoded, 0.8, 0.2)
    })
  })

  describe('through the official openai npm client', () => {
    const client = (): OpenAI => new OpenAI({apiKey: 'unused', baseURL: `${t.url}/v1`})
    const formats = ['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm'] as const

    it.each(formats)('audio.speech.create %s: the content type and bytes of the format', async (format) => {
      const response = await client().audio.speech.create({model: 'tts-1', voice: 'alloy', input: TEXT, response_format: format})
      const bytes = Buffer.from(await response.arrayBuffer())
      const expectedType = {
        mp3: 'audio/mpeg',
        opus: 'audio/opus',
        aac: 'audio/aac',
        flac: 'audio/flac',
        wav: 'audio/wav',
        pcm: 'audio/pcm',
      }[format]
      expect(response.headers.get('content-type')).toBe(expectedType)
      const magic = {
        mp3: (b: Buffer) => b[0] === 0xff && (b[1]! & 0xe0) === 0xe0,
        opus: (b: Buffer) => b.toString('ascii', 0, 4) === 'OggS',
        aac: (b: Buffer) => b[0] === 0xff && (b[1]! & 0xf6) === 0xf0,
        flac: (b: Buffer) => b.toString('ascii', 0, 4) === 'fLaC',
        wav: (b: Buffer) => b.toString('ascii', 0, 4) === 'RIFF',
        pcm: (b: Buffer) => b.length % 2 === 0,
      }[format]
      expect(magic(bytes)).toBe(true)
      expect(bytes.length).toBeGreaterThan(200)
    })

    it.each(formats)('audio.speech.create %s streamed (response body read chunk by chunk) gives the same bytes', async (format) => {
      const whole = Buffer.from(
        await (
          await client().audio.speech.create({model: 'tts-1', voice: 'voice', input: TEXT, response_format: format, ...seed(7)})
        ).arrayBuffer(),
      )
      const response = await client().audio.speech.create({
        model: 'tts-1',
        voice: 'voice',
        input: TEXT,
        response_format: format,
        ...seed(7),
      })
      const chunks: Buffer[] = []
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk))
      const streamed = Buffer.concat(chunks)
      if (format === 'opus')
        expect(streamed.length).toBe(whole.length) // a random Ogg serial per stream
      else expect(streamed.equals(whole)).toBe(true)
    })

    it('audio.speech.create with stream_format sse: speech.audio.delta events, then speech.audio.done', async () => {
      const response = await client().audio.speech.create({
        model: 'tts-1',
        voice: 'voice',
        input: TEXT,
        response_format: 'pcm',
        stream_format: 'sse',
        ...seed(5),
      })
      const text = await response.text()
      expect(text).toContain('"type":"speech.audio.delta"')
      expect(text).toContain('"type":"speech.audio.done"')
    })

    it('audio.speech.create with speed 2 halves the duration; speed 5 is refused with a 400 the client raises', async () => {
      const fast = await client().audio.speech.create({
        model: 'tts-1',
        voice: 'voice',
        input: TEXT,
        response_format: 'pcm',
        speed: 2,
        ...seed(5),
      })
      expect((await fast.arrayBuffer()).byteLength / 2).toBe(Math.round(reference.length / 2))
      await expect(client().audio.speech.create({model: 'tts-1', voice: 'voice', input: TEXT, speed: 5})).rejects.toMatchObject({
        status: 400,
        code: 'invalid_value',
        param: 'speed',
      })
    })
  })
})

/** Our `seed` extension, passed through the client's typed body. */
function seed(value: number): Record<string, never> {
  return {seed: value} as unknown as Record<string, never>
}
