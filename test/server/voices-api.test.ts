import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {embeddedModelDir} from '../../src/config/project-paths.js'
import {loadEngineModel, type EngineModel} from '../../src/engine/engine-model.js'
import {exportVoiceNative} from '../../src/engine/export-voice-native.js'
import {postSpeech, readAll, startTestServer, type TestServer} from '../helpers/server.js'
import {toneSamples, wavBytes} from '../helpers/wav-bytes.js'

const KEY = 'voices-k3y'
const auth = {authorization: `Bearer ${KEY}`}

/** `/v1/audio/voices` on the embedded fixture model (one voice, `voice`), with a voices folder and an API key. */
describe('/v1/audio/voices: list, create from a WAV, delete, across restarts', () => {
  let model: EngineModel
  let work: string
  let voicesDir: string
  let t: TestServer
  const prompt = wavBytes({sampleRate: 24_000, samples: toneSamples(2)})

  beforeAll(async () => {
    model = await loadEngineModel({dir: embeddedModelDir(), threads: 1})
    work = await mkdtemp(join(tmpdir(), 'pockettts-voices-api-'))
    voicesDir = join(work, 'voices')
    await import('node:fs/promises').then((fs) => fs.mkdir(voicesDir))
    t = await startTestServer({model, voicesDir, apiKey: KEY})
  })
  afterAll(async () => {
    await t?.close()
    await model?.release()
    await rm(work, {recursive: true, force: true})
  })

  function create(fields: Record<string, string>, file: Buffer | null = prompt, server = t): Promise<Response> {
    const form = new FormData()
    for (const [key, value] of Object.entries(fields)) form.append(key, value)
    if (file !== null) form.append('file', new Blob([file], {type: 'audio/wav'}), 'prompt.wav')
    return fetch(`${server.url}/v1/audio/voices`, {method: 'POST', body: form, headers: auth})
  }
  async function list(server = t): Promise<{default: string; data: {id: string; origin: string; license: unknown; deletable: boolean}[]}> {
    const res = await fetch(`${server.url}/v1/audio/voices`, {headers: auth})
    expect(res.status).toBe(200)
    return (await res.json()) as never
  }
  async function speak(voice: string, server = t): Promise<Response> {
    return postSpeech(server.url, {model: 'tts-1', input: 'A new voice.', voice, seed: 3, response_format: 'pcm'}, {headers: auth})
  }

  it('refuses every voices route without the API key (401)', async () => {
    expect((await fetch(`${t.url}/v1/audio/voices`)).status).toBe(401)
    const form = new FormData()
    form.append('name', 'x')
    expect((await fetch(`${t.url}/v1/audio/voices`, {method: 'POST', body: form})).status).toBe(401)
    expect((await fetch(`${t.url}/v1/audio/voices/voice`, {method: 'DELETE'})).status).toBe(401)
  })

  it('lists the model voice, not deletable', async () => {
    const body = await list()
    expect(body.default).toBe('voice')
    expect(body.data).toEqual([{id: 'voice', name: 'voice', origin: 'model', license: null, deletable: false}])
  })

  let createdBytes: Buffer
  let createdAudio: Buffer

  it('creates a voice from a WAV: 201, the same voice file as export-voice --engine native, a licence sidecar, nothing else left', async () => {
    const res = await create({name: 'anna', license: 'CC-BY-4.0', source: 'a test tone', attribution: 'pockettts tests'})
    expect(res.status).toBe(201)
    const body = (await res.json()) as Record<string, unknown>
    expect(body).toMatchObject({id: 'anna', object: 'voice', origin: 'voices-dir', license: {license: 'CC-BY-4.0', source: 'a test tone'}})
    expect(readdirSync(voicesDir).sort()).toEqual(['anna.json', 'anna.safetensors'])
    const sidecar = JSON.parse(readFileSync(join(voicesDir, 'anna.json'), 'utf8')) as Record<string, unknown>
    expect(sidecar).toMatchObject({
      license: 'CC-BY-4.0',
      source: 'a test tone',
      attribution: 'pockettts tests',
      prompt_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    })
    createdBytes = readFileSync(join(voicesDir, 'anna.safetensors'))
    const promptPath = join(work, 'prompt.wav')
    await writeFile(promptPath, prompt)
    await exportVoiceNative({model, prompt: promptPath, out: join(work, 'exported.safetensors')})
    expect(createdBytes.equals(readFileSync(join(work, 'exported.safetensors')))).toBe(true)
    expect((await list()).data.map((v) => [v.id, v.deletable])).toEqual([
      ['anna', true],
      ['voice', false],
    ])
    const speech = await speak('anna')
    expect(speech.status).toBe(200)
    createdAudio = await readAll(speech)
    expect(createdAudio.length).toBeGreaterThan(0)
    expect(createdAudio.equals(await readAll(await speak('voice')))).toBe(false)
  })

  it.each([
    ['a taken name', {name: 'anna', license: 'MIT'}, true, 409, 'voice_exists'],
    ['a model voice name', {name: 'voice', license: 'MIT'}, true, 409, 'voice_exists'],
    ['an alias', {name: 'alloy', license: 'MIT'}, true, 409, 'voice_exists'],
    ['no licence', {name: 'bob'}, true, 400, 'missing_required_parameter'],
    ['no name', {license: 'MIT'}, true, 400, 'missing_required_parameter'],
    ['a path as name', {name: '../bob', license: 'MIT'}, true, 400, 'invalid_value'],
    ['no file', {name: 'bob', license: 'MIT'}, false, 400, 'missing_required_parameter'],
  ])("refuses %s in OpenAI's error shape", async (_name, fields, withFile, status, code) => {
    const res = await create(fields, withFile ? prompt : null)
    expect(res.status).toBe(status)
    expect(((await res.json()) as {error: {code: string}}).error.code).toBe(code)
    expect(readdirSync(voicesDir).sort()).toEqual(['anna.json', 'anna.safetensors'])
  })

  it('refuses a file that is not a WAV (415) and leaves the folder as it was', async () => {
    const res = await create({name: 'bob', license: 'MIT'}, Buffer.from('not audio at all, just text'))
    expect(res.status).toBe(415)
    expect(readdirSync(voicesDir).sort()).toEqual(['anna.json', 'anna.safetensors'])
  })

  it('keeps a created voice across a restart on the same folder: listed with its licence, the same audio', async () => {
    await t.close()
    t = await startTestServer({model, voicesDir, apiKey: KEY})
    const anna = (await list()).data.find((v) => v.id === 'anna')
    expect(anna).toMatchObject({origin: 'voices-dir', deletable: true, license: {license: 'CC-BY-4.0'}})
    expect((await readAll(await speak('anna'))).equals(createdAudio)).toBe(true)
  })

  it('deletes a voices-folder voice (files gone, no longer served, still gone after a restart); model voices and unknown names are refused', async () => {
    expect((await fetch(`${t.url}/v1/audio/voices/voice`, {method: 'DELETE', headers: auth})).status).toBe(409)
    expect((await fetch(`${t.url}/v1/audio/voices/nobody`, {method: 'DELETE', headers: auth})).status).toBe(404)
    const res = await fetch(`${t.url}/v1/audio/voices/anna`, {method: 'DELETE', headers: auth})
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({id: 'anna', object: 'voice', deleted: true})
    expect(readdirSync(voicesDir)).toEqual([])
    expect((await list()).data.map((v) => v.id)).toEqual(['voice'])
    const gone = await speak('anna')
    expect(gone.status).toBe(400)
    expect(((await gone.json()) as {error: {code: string}}).error.code).toBe('voice_not_found')
    await t.close()
    t = await startTestServer({model, voicesDir, apiKey: KEY})
    expect((await list()).data.map((v) => v.id)).toEqual(['voice'])
    // the name is free again
    expect((await create({name: 'anna', license: 'CC0-1.0'})).status).toBe(201)
    expect(existsSync(join(voicesDir, 'anna.safetensors'))).toBe(true)
  })

  it('refuses to create a voice on a server without a voices folder (409 voices_dir_not_set)', async () => {
    const bare = await startTestServer({model})
    try {
      const form = new FormData()
      form.append('name', 'x')
      form.append('license', 'MIT')
      form.append('file', new Blob([prompt]), 'p.wav')
      const res = await fetch(`${bare.url}/v1/audio/voices`, {method: 'POST', body: form})
      expect(res.status).toBe(409)
      expect(((await res.json()) as {error: {code: string}}).error.code).toBe('voices_dir_not_set')
    } finally {
      await bare.close()
    }
  })
})
