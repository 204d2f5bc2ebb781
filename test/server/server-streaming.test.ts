import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'
import {loadEngineModel, type EngineModel} from '../../src/engine/engine-model.js'
import {NEEDS_ORACLE, skipWithoutOracle} from '../helpers/oracle.js'
import {
  framesWithoutEos,
  metric,
  NEVER_EOS,
  parseWavHeader,
  postSpeech,
  postTts,
  readAll,
  readAtLeast,
  startTestServer,
  waitFor,
} from '../helpers/server.js'

const FRAME_BYTES = 1920 * 2
const SILENCE_BYTES = 4800 * 2
/** Many sentences: without EOS, hundreds of frames per chunk; these requests are always cut short. */
const LONG_TEXT = Array.from({length: 12}, (_, i) => `This is sentence number ${i + 1} of a long story that keeps going on and on.`).join(
  ' ',
)
/** One chunk of about fifty tokens. */
const MEDIUM_TEXT = 'The quick brown fox jumps over the lazy dog while the small cat watches from the old wooden fence nearby.'

describe.skipIf(skipWithoutOracle)(`pockettts server: streaming, cancellation, overload, timeouts ${NEEDS_ORACLE}`, () => {
  let model: EngineModel
  beforeAll(async () => {
    model = await loadEngineModel({dir: inject('oracleOnnx'), threads: 1})
  })
  afterAll(async () => model?.release())

  it('streams the first audio bytes before the generation ends, answers /health meanwhile, and a client abort frees the slot', async () => {
    const t = await startTestServer({model, workers: 1, queue: 0, generation: NEVER_EOS})
    try {
      const total = await framesWithoutEos(model, LONG_TEXT)
      const controller = new AbortController()
      const res = await postTts(t.url, {text: LONG_TEXT, seed: '1'}, {signal: controller.signal})
      expect(res.status).toBe(200)
      const {head} = await readAtLeast(res, 44 + FRAME_BYTES)
      expect(parseWavHeader(head).sampleRate).toBe(24000)
      // Audio is flowing while the generation still runs: the slot is busy and nothing has completed.
      expect(await metric(t.url, 'pockettts_active_generations')).toBe(1)
      expect(await metric(t.url, 'pockettts_generations_total{route="/tts",outcome="completed"}')).toBe(0)
      const health = await fetch(`${t.url}/health`)
      expect(health.status).toBe(200)
      const busy = await fetch(`${t.url}/ready`)
      expect(busy.status).toBe(503)
      expect(await busy.json()).toMatchObject({status: 'busy', active: 1, queued: 0})

      controller.abort()
      await waitFor(async () => (await metric(t.url, 'pockettts_generations_total{route="/tts",outcome="cancelled"}')) === 1)
      expect(await metric(t.url, 'pockettts_active_generations')).toBe(0)
      const cancelled = t.logs().find((l) => l['event'] === 'speech' && l['outcome'] === 'cancelled')
      expect(cancelled).toBeDefined()
      expect(Number(cancelled!['frames'])).toBeLessThan(total) // stopped, not run to the end
      // The freed slot takes the next request (queue 0: it would get 429 otherwise).
      const next = await postTts(t.url, {text: 'Hi.', seed: '2'})
      expect(next.status).toBe(200)
      const bytes = await readAll(next)
      expect(bytes.length).toBe(44 + (await framesWithoutEos(model, 'Hi.')) * FRAME_BYTES + SILENCE_BYTES)
    } finally {
      await t.close()
    }
  })

  it('a client that leaves while queued leaves the queue', async () => {
    const t = await startTestServer({model, workers: 1, queue: 1, generation: NEVER_EOS})
    try {
      const runner = new AbortController()
      const running = await postTts(t.url, {text: LONG_TEXT, seed: '1'}, {signal: runner.signal})
      expect(running.status).toBe(200)
      const waiter = new AbortController()
      const queued = postTts(t.url, {text: 'Hi.', seed: '1'}, {signal: waiter.signal}).catch((e: unknown) => e)
      await waitFor(async () => (await metric(t.url, 'pockettts_queue_depth')) === 1)
      waiter.abort()
      expect(await queued).toMatchObject({name: 'AbortError'})
      await waitFor(async () => (await metric(t.url, 'pockettts_queue_depth')) === 0)
      expect(await metric(t.url, 'pockettts_active_generations')).toBe(1)
      runner.abort()
      await waitFor(async () => (await metric(t.url, 'pockettts_active_generations')) === 0)
    } finally {
      await t.close()
    }
  })

  it('beyond the workers and the queue answers 429 with Retry-After, and still completes every accepted request', async () => {
    const t = await startTestServer({model, workers: 1, queue: 1, generation: NEVER_EOS})
    try {
      const first = await postTts(t.url, {text: MEDIUM_TEXT, seed: '1'})
      expect(first.status).toBe(200)
      const firstBody = readAll(first)
      const second = postSpeech(t.url, {model: 'pocket-tts', input: 'Hi.', voice: 'voice', response_format: 'pcm', seed: 2})
      await waitFor(async () => (await metric(t.url, 'pockettts_queue_depth')) === 1)
      const ready = await fetch(`${t.url}/ready`)
      expect(ready.status).toBe(503)

      const refused = await postTts(t.url, {text: 'No room.', seed: '3'})
      expect(refused.status).toBe(429)
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      expect(((await refused.json()) as {code: string}).code).toBe('queue_full')
      const refusedOpenAi = await postSpeech(t.url, {model: 'tts-1', input: 'No room.', voice: 'voice'})
      expect(refusedOpenAi.status).toBe(429)
      expect(refusedOpenAi.headers.get('retry-after')).not.toBeNull()
      expect(await refusedOpenAi.json()).toEqual({
        error: {message: expect.any(String), type: 'rate_limit_error', param: null, code: 'queue_full'},
      })

      // Both accepted requests run to their full length.
      expect((await firstBody).length).toBe(44 + (await framesWithoutEos(model, MEDIUM_TEXT)) * FRAME_BYTES + SILENCE_BYTES)
      const secondRes = await second
      expect(secondRes.status).toBe(200)
      expect((await readAll(secondRes)).length).toBe((await framesWithoutEos(model, 'Hi.')) * FRAME_BYTES)
      expect(await metric(t.url, 'pockettts_rejected_requests_total{reason="queue_full"}')).toBe(2)
      expect(await metric(t.url, 'pockettts_generations_total{route="/tts",outcome="completed"}')).toBe(1)
      expect(await metric(t.url, 'pockettts_generations_total{route="/v1/audio/speech",outcome="completed"}')).toBe(1)
    } finally {
      await t.close()
    }
  })

  it('with several workers, generations run side by side and each stream is complete', async () => {
    const t = await startTestServer({model, workers: 2, queue: 0, generation: NEVER_EOS})
    try {
      const texts = ['First voice here.', 'Second voice there.']
      const responses = await Promise.all(texts.map((text, i) => postTts(t.url, {text, seed: String(i)})))
      expect(responses.map((r) => r.status)).toEqual([200, 200])
      const bodies = await Promise.all(responses.map(readAll))
      for (const [i, body] of bodies.entries())
        expect(body.length).toBe(44 + (await framesWithoutEos(model, texts[i]!)) * FRAME_BYTES + SILENCE_BYTES)
    } finally {
      await t.close()
    }
  })

  it('stops a request at its timeout: the stream is cut (or 503 before the first audio) and the slot is freed', async () => {
    const t = await startTestServer({model, workers: 1, queue: 0, requestTimeoutMs: 400, generation: NEVER_EOS})
    try {
      const res = await postTts(t.url, {text: LONG_TEXT, seed: '1'})
      if (res.status === 200) {
        await expect(readAll(res)).rejects.toThrow()
      } else {
        expect(res.status).toBe(503)
        expect(((await res.json()) as {code: string}).code).toBe('request_timeout')
      }
      await waitFor(async () => (await metric(t.url, 'pockettts_generations_total{route="/tts",outcome="timeout"}')) === 1)
      expect(await metric(t.url, 'pockettts_active_generations')).toBe(0)
    } finally {
      await t.close()
    }
  })

  it("ends an SSE stream that times out with an error event in OpenAI's shape", async () => {
    const t = await startTestServer({model, workers: 1, queue: 0, requestTimeoutMs: 400, generation: NEVER_EOS})
    try {
      const res = await postSpeech(t.url, {model: 'tts-1', input: LONG_TEXT, voice: 'voice', stream_format: 'sse', seed: 1})
      if (res.status === 200) {
        const text = await res.text()
        const last = JSON.parse(text.trim().split('\n\n').at(-1)!.slice('data: '.length)) as Record<string, unknown>
        expect(last).toEqual({
          type: 'error',
          error: {message: expect.any(String), type: 'server_error', param: null, code: 'request_timeout'},
        })
        expect(text).toContain('speech.audio.delta')
      } else {
        expect(res.status).toBe(503)
      }
    } finally {
      await t.close()
    }
  })

  it('graceful close: refuses new work with 503 while in-flight requests finish, then stops listening', async () => {
    const t = await startTestServer({model, workers: 1, queue: 1, generation: NEVER_EOS})
    const res = await postTts(t.url, {text: 'Finish me please.', seed: '1'})
    expect(res.status).toBe(200)
    const queued = postTts(t.url, {text: 'Me too.', seed: '2'})
    await waitFor(async () => (await metric(t.url, 'pockettts_queue_depth')) === 1)
    const closing = t.server.close({deadlineMs: 60_000})
    const ready = await fetch(`${t.url}/ready`).catch(() => undefined)
    if (ready !== undefined) expect(ready.status).toBe(503)
    expect((await readAll(res)).length).toBe(44 + (await framesWithoutEos(model, 'Finish me please.')) * FRAME_BYTES + SILENCE_BYTES)
    const queuedRes = await queued
    expect(queuedRes.status).toBe(200)
    expect((await readAll(queuedRes)).length).toBe(44 + (await framesWithoutEos(model, 'Me too.')) * FRAME_BYTES + SILENCE_BYTES)
    expect(await closing).toMatchObject({drained: true, cancelled: 0})
    await expect(fetch(`${t.url}/health`)).rejects.toThrow()
  })

  it('close past its deadline cancels what is left (running and queued) and still closes', async () => {
    const t = await startTestServer({model, workers: 1, queue: 1, generation: NEVER_EOS})
    const res = await postTts(t.url, {text: LONG_TEXT, seed: '1'})
    expect(res.status).toBe(200)
    const queued = postTts(t.url, {text: LONG_TEXT, seed: '2'})
    await waitFor(async () => (await metric(t.url, 'pockettts_queue_depth')) === 1)
    const report = await t.server.close({deadlineMs: 200})
    expect(report).toMatchObject({drained: false, cancelled: 2})
    await expect(readAll(res)).rejects.toThrow()
    const queuedRes = await queued
    expect(queuedRes.status).toBe(503)
    expect(((await queuedRes.json()) as {code: string}).code).toBe('server_draining')
  })
})
