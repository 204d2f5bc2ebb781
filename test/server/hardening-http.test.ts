import {copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {embeddedModelDir} from '../../src/config/project-paths.js'
import {loadEngineModel, type EngineModel} from '../../src/engine/engine-model.js'
import {PocketTtsError} from '../../src/errors/index.js'
import {createServer} from '../../src/server/index.js'
import {parseVoiceAliases} from '../../src/voice/voice-aliases.js'
import {postSpeech, postTts, readAll, startTestServer, type TestServer} from '../helpers/server.js'
import {toneSamples, wavBytes} from '../helpers/wav-bytes.js'

/** The embedded fixture model ships one voice, named `voice`. */
describe('server hardening on the embedded fixture model: knob ranges over HTTP, prompt checks, voice aliases', () => {
  let model: EngineModel
  let t: TestServer
  beforeAll(async () => {
    model = await loadEngineModel({dir: embeddedModelDir(), threads: 1})
    t = await startTestServer({model})
  })
  afterAll(async () => {
    await t?.close()
    await model?.release()
  })

  it.each([
    [{temperature: 1e308}, 'temperature', 'temperature: expected a number from 0 to 5, got 1e+308'],
    [{temperature: '0x10'}, 'temperature', 'as a JSON number'],
    [{seed: 2 ** 40}, 'seed', 'seed: expected a whole number from 0 to 4294967295'],
  ])('/v1/audio/speech refuses %j with 400 invalid_value naming the value and the range', async (fields, param, message) => {
    const res = await postSpeech(t.url, {model: 'tts-1', input: 'Hi.', voice: 'voice', ...fields})
    expect(res.status).toBe(400)
    const body = (await res.json()) as {error: {code: string; param: string; message: string}}
    expect(body.error).toMatchObject({code: 'invalid_value', param})
    expect(body.error.message).toContain(message)
  })

  it.each([
    [{temperature: '0x10'}, 'temperature: expected a number from 0 to 5, got "0x10"'],
    [{temperature: 'Infinity'}, 'got "Infinity"'],
    [{seed: '99999999999999999999'}, 'seed: expected a whole number from 0 to 4294967295, got "99999999999999999999"'],
  ])('/tts refuses form fields %j with 400 invalid_value', async (fields, message) => {
    const res = await postTts(t.url, {text: 'Hi.', ...fields})
    expect(res.status).toBe(400)
    const body = (await res.json()) as {code: string; detail: string}
    expect(body.code).toBe('invalid_value')
    expect(body.detail).toContain(message)
  })

  it.each([
    [{workers: 1000}, 'workers: expected a whole number from 1 to 64, got 1000'],
    [{queue: 1e6}, 'queue: expected a whole number from 0 to 1024'],
    [{requestTimeoutMs: Number.POSITIVE_INFINITY}, 'requestTimeoutMs (in seconds)'],
    [{maxUploadBytes: 2 ** 40}, 'maxUploadBytes (in MiB)'],
    [{generation: {maxTokens: 1_000_000}}, 'generation.maxTokens: expected a whole number from 1 to 500 tokens'],
    [{generation: {temperature: 1e308}}, 'generation.temperature: expected a number from 0 to 5'],
    [{generation: {lsdDecodeSteps: 100_000}}, 'generation.lsdDecodeSteps: expected a whole number from 1 to 64'],
  ])('createServer refuses %j with INVALID_SERVER_OPTION (the same table as the flags)', async (options, message) => {
    const error = await createServer({model, log: false, processMetrics: false, ...options}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PocketTtsError)
    expect((error as PocketTtsError).code).toBe('INVALID_SERVER_OPTION')
    expect((error as PocketTtsError).message).toContain(message)
  })

  it('refuses a voice_wav upload with NaN samples (400 audio_not_finite) before generating', async () => {
    const samples = toneSamples()
    samples[100] = Number.NaN
    const res = await postTts(t.url, {
      text: 'Hi.',
      voice_wav: new Blob([wavBytes({sampleRate: 24_000, samples, float: true})], {type: 'audio/wav'}),
    })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({code: 'audio_not_finite'})
    const inf = toneSamples()
    inf[0] = Number.POSITIVE_INFINITY
    const res2 = await postTts(t.url, {
      text: 'Hi.',
      voice_wav: new Blob([wavBytes({sampleRate: 24_000, samples: inf, float: true})], {type: 'audio/wav'}),
    })
    expect(res2.status).toBe(400)
    expect(await res2.json()).toMatchObject({code: 'audio_not_finite'})
    expect(t.logs().filter((l) => l['event'] === 'speech')).toEqual([])
  })

  it('refuses an upload at an absurd sample rate (400 audio_invalid naming the rate)', async () => {
    const res = await postTts(t.url, {
      text: 'Hi.',
      voice_wav: new Blob([wavBytes({sampleRate: 1_000_000, samples: toneSamples(1, 1_000_000)})], {type: 'audio/wav'}),
    })
    expect(res.status).toBe(400)
    const body = (await res.json()) as {code: string; detail: string}
    expect(body.code).toBe('audio_invalid')
    expect(body.detail).toContain('1000000 Hz')
  })

  it('answers a silent upload, warning in the x-pockettts-warning header and the log', async () => {
    const silent = new Float32Array(24_000 * 2)
    const res = await postTts(t.url, {
      text: 'Hi.',
      seed: '1',
      voice_wav: new Blob([wavBytes({sampleRate: 24_000, samples: silent})], {type: 'audio/wav'}),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-pockettts-warning')).toBe('PROMPT_SILENT')
    await readAll(res)
    expect(t.logs().some((l) => l['event'] === 'prompt_warning' && l['code'] === 'PROMPT_SILENT')).toBe(true)
    const clean = await postTts(t.url, {
      text: 'Hi.',
      seed: '1',
      voice_wav: new Blob([wavBytes({sampleRate: 24_000, samples: toneSamples()})], {type: 'audio/wav'}),
    })
    expect(clean.status).toBe(200)
    expect(clean.headers.get('x-pockettts-warning')).toBeNull()
    await readAll(clean)
  })

  it("maps OpenAI's voice names by default (the default voice when the model lacks the target) and lists them in /voices", async () => {
    const voices = (await (await fetch(`${t.url}/voices`)).json()) as {default: string; aliases: Record<string, string>}
    expect(voices.default).toBe('voice')
    for (const name of ['alloy', 'echo', 'fable', 'onyx', 'nova', 'shimmer', 'ash', 'ballad', 'coral', 'sage', 'verse'])
      expect(voices.aliases[name]).toBe('voice')
    const viaAlias = await readAll(
      await postSpeech(t.url, {model: 'tts-1', input: 'Alias.', voice: 'alloy', response_format: 'pcm', seed: 3}),
    )
    const viaName = await readAll(
      await postSpeech(t.url, {model: 'tts-1', input: 'Alias.', voice: 'voice', response_format: 'pcm', seed: 3}),
    )
    expect(viaAlias.length).toBeGreaterThan(0)
    expect(viaAlias.equals(viaName)).toBe(true)
    const viaForm = await postTts(t.url, {text: 'Alias.', voice_url: 'nova', seed: '3'})
    expect(viaForm.status).toBe(200)
    await readAll(viaForm)
    const unknown = await postSpeech(t.url, {model: 'tts-1', input: 'Hi.', voice: 'nobody'})
    expect(unknown.status).toBe(400)
    expect(((await unknown.json()) as {error: {message: string}}).error.message).toContain('aliases: alloy')
  })

  it('takes user aliases (added and overriding), and refuses one naming no voice or hiding a voice', async () => {
    const custom = await startTestServer({model, voiceAliases: {robot: 'voice', alloy: 'voice'}})
    try {
      const voices = (await (await fetch(`${custom.url}/voices`)).json()) as {aliases: Record<string, string>}
      expect(voices.aliases['robot']).toBe('voice')
      const res = await postSpeech(custom.url, {model: 'tts-1', input: 'Hi.', voice: 'robot', response_format: 'pcm', seed: 1})
      expect(res.status).toBe(200)
      await readAll(res)
    } finally {
      await custom.close()
    }
    const unknown = await createServer({model, log: false, processMetrics: false, voiceAliases: {alloy: 'alba'}}).catch((e: unknown) => e)
    expect((unknown as PocketTtsError).code).toBe('VOICE_ALIAS_UNKNOWN_VOICE')
    const hiding = await createServer({model, log: false, processMetrics: false, voiceAliases: {voice: 'voice'}}).catch((e: unknown) => e)
    expect((hiding as PocketTtsError).code).toBe('VOICE_ALIAS_CONFLICT')
    expect(parseVoiceAliases('alloy=alba, echo=marius', '--voice-aliases')).toEqual({alloy: 'alba', echo: 'marius'})
    expect(() => parseVoiceAliases('alloy', '--voice-aliases')).toThrow(/ALIAS=VOICE/)
    expect(() => parseVoiceAliases({'../x': 'alba'}, 'voiceAliases')).toThrow(/not a name/)
  })

  it('serve --voices refuses a voice file whose symlink leads outside the folder (UNSAFE_PATH), before reading it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pockettts-voices-'))
    const outside = join(root, 'outside')
    const voicesDir = join(root, 'voices')
    mkdirSync(outside)
    mkdirSync(voicesDir)
    copyFileSync(join(embeddedModelDir(), 'voice.safetensors'), join(outside, 'stolen.safetensors'))
    symlinkSync(join(outside, 'stolen.safetensors'), join(voicesDir, 'evil.safetensors'))
    const error = await createServer({model, log: false, processMetrics: false, voicesDir}).catch((e: unknown) => e)
    expect((error as PocketTtsError).code).toBe('UNSAFE_PATH')
    expect((error as PocketTtsError).message).toContain('evil.safetensors')
    // A symlink that stays inside the folder is a voice like any other.
    copyFileSync(join(embeddedModelDir(), 'voice.safetensors'), join(voicesDir, 'real.safetensors'))
    writeFileSync(join(voicesDir, 'placeholder.txt'), '')
    symlinkSync('real.safetensors', join(voicesDir, 'alias.safetensors'))
    rmSync(join(voicesDir, 'evil.safetensors'))
    const ok = await createServer({model, log: false, processMetrics: false, voicesDir})
    try {
      expect(ok.catalog.voices.map((v) => v.name)).toEqual(['alias', 'real', 'voice'])
    } finally {
      await ok.close({deadlineMs: 0})
    }
  })
})
