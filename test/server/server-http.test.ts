import {copyFile, mkdir, mkdtemp, readFile, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'
import {loadEngineModel, type EngineModel} from '../../src/engine/engine-model.js'
import {ConfigError} from '../../src/errors/index.js'
import {createServer} from '../../src/server/index.js'
import {OPENAI_VOICE_ALIASES} from '../../src/voice/voice-aliases.js'
import {NEEDS_ORACLE, ORACLE_TINY, skipWithoutOracle} from '../helpers/oracle.js'
import {metric, parseSpeechSse, parseWavHeader, postSpeech, postTts, readAll, startTestServer, type TestServer} from '../helpers/server.js'

const FRAME_BYTES = 1920 * 2
const SILENCE_BYTES = 4800 * 2

describe.skipIf(skipWithoutOracle)(`pockettts server over HTTP on 127.0.0.1 ${NEEDS_ORACLE}`, () => {
  let model: EngineModel
  let work: string
  let prompt: Buffer
  let t: TestServer
  beforeAll(async () => {
    model = await loadEngineModel({dir: inject('oracleOnnx'), threads: 1})
    work = await mkdtemp(join(tmpdir(), 'pockettts-server-'))
    prompt = await readFile(join(ORACLE_TINY, 'voice_prompt.wav'))
    t = await startTestServer({model, maxTextChars: 300, maxUploadBytes: 1024 * 1024, bodyLimitBytes: 64 * 1024})
  })
  afterAll(async () => {
    await t?.close()
    await model?.release()
  })

  describe('GET /health, /ready, /voices, /metrics', () => {
    it('answers liveness and readiness', async () => {
      const health = await fetch(`${t.url}/health`)
      expect(health.status).toBe(200)
      expect(await health.json()).toEqual({status: 'healthy'})
      const ready = await fetch(`${t.url}/ready`)
      expect(ready.status).toBe(200)
      expect(await ready.json()).toEqual({status: 'ready', active: 0, queued: 0, concurrency: 1, maxQueue: 16})
    })

    it('lists the model folder voices with null licence metadata when none is given', async () => {
      const res = await fetch(`${t.url}/voices`)
      const aliases = Object.fromEntries(Object.keys(OPENAI_VOICE_ALIASES).map((alias) => [alias, 'voice']))
      expect(await res.json()).toEqual({default: 'voice', voices: [{name: 'voice', origin: 'model', license: null}], aliases})
    })

    it('adds the --voices folder with licence metadata from voices.json and sidecars, and refuses name clashes and bad files', async () => {
      const dir = join(work, 'voices')
      await mkdir(dir, {recursive: true})
      await copyFile(join(ORACLE_TINY, 'voice.safetensors'), join(dir, 'anna.safetensors'))
      await copyFile(join(ORACLE_TINY, 'voice.safetensors'), join(dir, 'bob.safetensors'))
      await copyFile(join(ORACLE_TINY, 'voice.safetensors'), join(dir, 'carl.safetensors'))
      await writeFile(join(dir, 'voices.json'), JSON.stringify({anna: {license: 'CC-BY-4.0', source: 'test'}, bob: {license: 'CC0-1.0'}}))
      await writeFile(join(dir, 'bob.json'), JSON.stringify({license: 'MIT', attribution: 'sidecar wins'}))
      const withDir = await startTestServer({model, voicesDir: dir})
      try {
        const body = (await (await fetch(`${withDir.url}/voices`)).json()) as {voices: unknown[]}
        expect(body.voices).toEqual([
          {name: 'anna', origin: 'voices-dir', license: {license: 'CC-BY-4.0', source: 'test'}},
          {name: 'bob', origin: 'voices-dir', license: {license: 'MIT', attribution: 'sidecar wins'}},
          {name: 'carl', origin: 'voices-dir', license: null},
          {name: 'voice', origin: 'model', license: null},
        ])
        const res = await postSpeech(withDir.url, {model: 'pocket-tts', input: 'Hi.', voice: 'anna', seed: 1})
        expect(res.status).toBe(200)
        expect((await readAll(res)).length).toBeGreaterThan(44)
      } finally {
        await withDir.close()
      }
      await copyFile(join(ORACLE_TINY, 'voice.safetensors'), join(dir, 'voice.safetensors'))
      await expect(createServer({model, voicesDir: dir, log: false, processMetrics: false})).rejects.toMatchObject({
        code: 'VOICE_NAME_CONFLICT',
      })
      const bad = join(work, 'bad-voices')
      await mkdir(bad)
      await writeFile(join(bad, 'junk.safetensors'), 'not a voice')
      const error = await createServer({model, voicesDir: bad, log: false, processMetrics: false}).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ConfigError)
      expect(error).toMatchObject({code: 'VOICES_DIR_INVALID'})
    })

    it('exposes Prometheus metrics: requests by status, TTFA and RTF histograms, queue depth, active generations, rejections', async () => {
      await readAll(await postTts(t.url, {text: 'Metrics.', seed: '5'}))
      const res = await fetch(`${t.url}/metrics`)
      expect(res.headers.get('content-type')).toContain('text/plain')
      const text = await res.text()
      for (const name of [
        'pockettts_http_requests_total{method="POST",route="/tts",status="200"}',
        'pockettts_time_to_first_audio_seconds_count{route="/tts"}',
        'pockettts_real_time_factor_count{route="/tts"}',
        'pockettts_queue_depth 0',
        'pockettts_active_generations 0',
        'pockettts_rejected_requests_total{reason="queue_full"} 0',
        'pockettts_generations_total{route="/tts",outcome="completed"}',
      ]) {
        expect(text).toContain(name)
      }
    })
  })

  describe('POST /tts (upstream form)', () => {
    it('streams a 16-bit 24 kHz mono WAV with the placeholder length and 0.2 s of trailing silence, reproducible by seed', async () => {
      const res = await postTts(t.url, {text: 'Hello world. This is a test.', seed: '3'})
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('audio/wav')
      expect(res.headers.get('content-disposition')).toBe('attachment; filename=generated_speech.wav')
      expect(res.headers.get('transfer-encoding')).toBe('chunked')
      const bytes = await readAll(res)
      const header = parseWavHeader(bytes)
      expect(header).toMatchObject({format: 1, channels: 1, sampleRate: 24000, bits: 16})
      expect(header.dataBytes).toBeGreaterThan(bytes.length) // streaming placeholder, as upstream
      const audio = bytes.length - 44 - SILENCE_BYTES
      expect(audio).toBeGreaterThan(0)
      expect(audio % FRAME_BYTES).toBe(0)
      expect(bytes.subarray(bytes.length - SILENCE_BYTES).every((b) => b === 0)).toBe(true)
      const again = await readAll(await postTts(t.url, {text: 'Hello world. This is a test.', seed: '3'}))
      expect(again.equals(bytes)).toBe(true)
      const other = await readAll(await postTts(t.url, {text: 'Hello world. This is a test.', seed: '4'}))
      expect(other.equals(bytes)).toBe(false)
    })

    it('takes a voice name as voice_url and an urlencoded form (FastAPI Form accepts both)', async () => {
      const named = await readAll(await postTts(t.url, {text: 'Named voice.', voice_url: 'voice', seed: '9'}))
      const res = await fetch(`${t.url}/tts`, {method: 'POST', body: new URLSearchParams({text: 'Named voice.', seed: '9'})})
      expect(res.status).toBe(200)
      expect((await readAll(res)).equals(named)).toBe(true) // the default voice is `voice`
    })

    it('clones an uploaded voice_wav prompt; the same upload again is a voice-cache hit with identical audio', async () => {
      const hitsBefore = await metric(t.url, 'pockettts_voice_cache_requests_total{result="hit"}')
      const upload = () => postTts(t.url, {text: 'Cloned voice.', seed: '2', voice_wav: new Blob([prompt], {type: 'audio/wav'})})
      const first = await upload()
      expect(first.status).toBe(200)
      const a = await readAll(first)
      const b = await readAll(await upload())
      expect(b.equals(a)).toBe(true)
      expect(await metric(t.url, 'pockettts_voice_cache_requests_total{result="hit"}')).toBe(hitsBefore + 1)
      expect(parseWavHeader(a).sampleRate).toBe(24000)
    })

    it.each([
      ['blank text', {text: '   '}, 400, 'text_empty'],
      ['no text field', {voice_url: 'voice'}, 400, 'text_empty'],
      ['both voice fields', {text: 'Hi.', voice_url: 'voice', voice_wav: 'PROMPT'}, 400, 'voice_conflict'],
      ['an unknown voice name', {text: 'Hi.', voice_url: 'nobody'}, 400, 'voice_not_found'],
      ['a remote voice URL', {text: 'Hi.', voice_url: 'https://example.com/v.wav'}, 400, 'voice_url_unsupported'],
      ['a text over --max-text-chars', {text: 'a'.repeat(301)}, 400, 'text_too_long'],
      ['a bad seed', {text: 'Hi.', seed: 'soon'}, 400, 'invalid_value'],
      ['a negative temperature', {text: 'Hi.', temperature: '-1'}, 400, 'invalid_value'],
      ['an upload that is not a WAV', {text: 'Hi.', voice_wav: 'MP3'}, 415, 'audio_format_unsupported'],
      ['a broken WAV upload', {text: 'Hi.', voice_wav: 'BROKEN'}, 400, 'audio_invalid'],
      ['an upload over the size limit', {text: 'Hi.', voice_wav: 'HUGE'}, 413, 'upload_too_large'],
    ])("answers %s with %i and upstream's {detail} shape", async (_name, fields, status, code) => {
      const uploads: Record<string, Blob> = {
        PROMPT: new Blob([prompt]),
        MP3: new Blob([Buffer.from('ID3\u0003\u0000\u0000\u0000\u0000\u0000\u0000 not a wav at all')]),
        BROKEN: new Blob([Buffer.concat([prompt.subarray(0, 12), Buffer.from('garbage that is no fmt chunk')])]),
        HUGE: new Blob([Buffer.alloc(2 * 1024 * 1024)]),
      }
      const form: Record<string, string | Blob> = {}
      for (const [key, value] of Object.entries(fields)) form[key] = key === 'voice_wav' ? uploads[value]! : value
      const res = await postTts(t.url, form)
      expect(res.status).toBe(status)
      const body = (await res.json()) as {detail: string; code: string}
      expect(body.code).toBe(code)
      expect(typeof body.detail).toBe('string')
      expect(body.detail.length).toBeGreaterThan(0)
    })
  })

  describe('POST /v1/audio/speech (OpenAI)', () => {
    it('answers wav (no trailing silence) and pcm (raw 16-bit LE) with the same samples for the same seed', async () => {
      const request = {model: 'tts-1', input: 'Open voice.', voice: 'voice', seed: 11}
      const wavRes = await postSpeech(t.url, {...request, response_format: 'wav'})
      expect(wavRes.status).toBe(200)
      expect(wavRes.headers.get('content-type')).toBe('audio/wav')
      const wav = await readAll(wavRes)
      const pcmRes = await postSpeech(t.url, {...request, response_format: 'pcm'})
      expect(pcmRes.headers.get('content-type')).toBe('audio/pcm')
      const pcm = await readAll(pcmRes)
      expect(pcm.length % FRAME_BYTES).toBe(0)
      expect(pcm.length).toBeGreaterThan(0)
      expect(wav.subarray(44).equals(pcm)).toBe(true)
      const byDefault = await postSpeech(t.url, {...request, model: 'pocket-tts', voice: {id: 'voice'}})
      expect(byDefault.headers.get('content-type')).toBe('audio/mpeg') // OpenAI's default format, mp3; voice may be {id}
      expect((await readAll(byDefault)).length).toBeGreaterThan(0)
    })

    it('streams SSE: speech.audio.delta events whose audio is exactly the audio stream, then speech.audio.done with usage', async () => {
      const request = {model: 'gpt-4o-mini-tts', input: 'Server sent events.', voice: 'voice', seed: 12, response_format: 'pcm'}
      const raw = await readAll(await postSpeech(t.url, request))
      const res = await postSpeech(t.url, {...request, stream_format: 'sse'})
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('text/event-stream')
      const {audio, events} = parseSpeechSse(await res.text())
      expect(audio.equals(raw)).toBe(true)
      expect(events).toHaveLength(1)
      const tokens = (await model.text.tokenizer.encode('Server sent events.')).length
      expect(events[0]).toEqual({
        type: 'speech.audio.done',
        usage: {input_tokens: tokens, output_tokens: raw.length / FRAME_BYTES, total_tokens: tokens + raw.length / FRAME_BYTES},
      })
      const wavSse = parseSpeechSse(await (await postSpeech(t.url, {...request, response_format: 'wav', stream_format: 'sse'})).text())
      expect(parseWavHeader(wavSse.audio).sampleRate).toBe(24000)
      expect(wavSse.audio.subarray(44).equals(raw)).toBe(true)
    })

    it.each([
      ['an unknown model', {model: 'whisper-1'}, 'model', 'model_not_found'],
      ['no model', {model: undefined}, 'model', 'missing_required_parameter'],
      ['no input', {input: undefined}, 'input', 'missing_required_parameter'],
      ['a blank input', {input: ' '}, 'input', 'invalid_value'],
      ['an input over the limit', {input: 'a'.repeat(301)}, 'input', 'string_above_max_length'],
      ['an unknown voice', {voice: 'nobody'}, 'voice', 'voice_not_found'],
      ['a voice of the wrong type', {voice: 3}, 'voice', 'invalid_type'],
      ['response_format ogg', {response_format: 'ogg'}, 'response_format', 'invalid_value'],
      ['stream_format chunks', {stream_format: 'chunks'}, 'stream_format', 'invalid_value'],
      ['speed 0.2', {speed: 0.2}, 'speed', 'invalid_value'],
      ['speed 9', {speed: 9}, 'speed', 'invalid_value'],
      ['a string speed', {speed: 'fast'}, 'speed', 'invalid_value'],
      ['instructions', {instructions: 'Speak like a pirate.'}, 'instructions', 'unsupported_parameter'],
      ['an unknown field', {stream: true}, 'stream', 'unknown_parameter'],
      ['a fractional seed', {seed: 1.5}, 'seed', 'invalid_value'],
      ['a string temperature', {temperature: '0.5'}, 'temperature', 'invalid_value'],
    ])("refuses %s with 400 in OpenAI's error shape", async (_name, patch, param, code) => {
      const res = await postSpeech(t.url, {model: 'tts-1', input: 'Hi.', voice: 'voice', ...patch})
      expect(res.status).toBe(400)
      const body = (await res.json()) as {error: Record<string, unknown>}
      expect(body).toEqual({error: {message: expect.any(String), type: 'invalid_request_error', param, code}})
    })

    it("answers a broken JSON body with 400, a non-object with 400 and a body over the limit with 413, in OpenAI's shape", async () => {
      const broken = await postSpeech(t.url, '{"model": "tts-1",')
      expect(broken.status).toBe(400)
      expect(((await broken.json()) as {error: {type: string}}).error.type).toBe('invalid_request_error')
      const list = await postSpeech(t.url, '[1, 2]')
      expect(list.status).toBe(400)
      expect(((await list.json()) as {error: {code: string}}).error.code).toBe('invalid_body')
      const big = await postSpeech(t.url, {model: 'tts-1', input: 'a'.repeat(70 * 1024), voice: 'voice'})
      expect(big.status).toBe(413)
      expect(((await big.json()) as {error: {code: string}}).error.code).toBe('body_too_large')
    })

    it('answers unknown routes with 404 (OpenAI shape under /v1/, upstream shape elsewhere)', async () => {
      const v1 = await fetch(`${t.url}/v1/models`)
      expect(v1.status).toBe(404)
      expect(((await v1.json()) as {error: {code: string}}).error.code).toBe('not_found')
      const other = await fetch(`${t.url}/nothing`)
      expect(((await other.json()) as {code: string}).code).toBe('not_found')
    })
  })

  describe('operations', () => {
    it('logs JSON lines with request ids, keeps a client request id, and never logs the request text at info level', async () => {
      const secret = 'The quick secret phrase.'
      const res = await postTts(t.url, {text: secret, seed: '1'}, {headers: {'x-request-id': 'client-id-42'}})
      expect(res.headers.get('x-request-id')).toBe('client-id-42')
      await readAll(res)
      const lines = t.logs().filter((l) => l['reqId'] === 'client-id-42')
      expect(lines.map((l) => l['msg'])).toEqual(expect.arrayContaining(['incoming request', 'speech completed', 'request completed']))
      const speech = lines.find((l) => l['event'] === 'speech')
      expect(speech).toMatchObject({route: '/tts', outcome: 'completed', voice: 'name:voice', textChars: secret.length, seed: 1})
      expect(JSON.stringify(t.logs())).not.toContain('secret phrase')
      const generated = await fetch(`${t.url}/health`, {headers: {'x-request-id': 'bad id with spaces'}})
      expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    })

    it('requires the API key when one is set (Bearer or X-API-Key), except on /health and /ready', async () => {
      const secured = await startTestServer({model, apiKey: 'k3y'})
      try {
        expect((await fetch(`${secured.url}/health`)).status).toBe(200)
        expect((await fetch(`${secured.url}/ready`)).status).toBe(200)
        const denied = await fetch(`${secured.url}/voices`)
        expect(denied.status).toBe(401)
        expect(denied.headers.get('www-authenticate')).toBe('Bearer')
        expect(((await denied.json()) as {code: string}).code).toBe('invalid_api_key')
        expect((await fetch(`${secured.url}/voices`, {headers: {authorization: 'Bearer wrong'}})).status).toBe(401)
        expect((await fetch(`${secured.url}/voices`, {headers: {authorization: 'Bearer k3y'}})).status).toBe(200)
        expect((await fetch(`${secured.url}/metrics`, {headers: {'x-api-key': 'k3y'}})).status).toBe(200)
        const openAi = await postSpeech(secured.url, {model: 'tts-1', input: 'Hi.', voice: 'voice'})
        expect(openAi.status).toBe(401)
        expect(await openAi.json()).toEqual({
          error: {message: expect.any(String), type: 'authentication_error', param: null, code: 'invalid_api_key'},
        })
      } finally {
        await secured.close()
      }
    })

    it('sends no CORS headers by default and allows only the configured origins when CORS is on', async () => {
      const preflight = {method: 'OPTIONS', headers: {origin: 'http://app.example', 'access-control-request-method': 'POST'}}
      const off = await fetch(`${t.url}/tts`, preflight)
      expect(off.headers.get('access-control-allow-origin')).toBeNull()
      expect(
        (await fetch(`${t.url}/health`, {headers: {origin: 'http://app.example'}})).headers.get('access-control-allow-origin'),
      ).toBeNull()
      const withCors = await startTestServer({model, corsOrigins: ['http://app.example']})
      try {
        const allowed = await fetch(`${withCors.url}/tts`, preflight)
        expect(allowed.status).toBe(204)
        expect(allowed.headers.get('access-control-allow-origin')).toBe('http://app.example')
        const other = await fetch(`${withCors.url}/health`, {headers: {origin: 'http://evil.example'}})
        expect(other.headers.get('access-control-allow-origin')).toBeNull()
      } finally {
        await withCors.close()
      }
    })
  })
})
