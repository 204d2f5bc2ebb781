import {rm} from 'node:fs/promises'
import {join} from 'node:path'
import type {FastifyInstance, FastifyRequest} from 'fastify'
import {audioPromptFromWav} from '../../audio/index.js'
import {voiceStateFromPromptAudio} from '../../engine/export-voice-native.js'
import {writeFileAtomic} from '../../fs/write-file-atomic.js'
import {loadVoiceState} from '../../voice/index.js'
import {encodeVoiceState} from '../../voice/write-voice-state.js'
import {HttpProblem} from '../http-problem.js'
import {leaseForRequest} from '../lease-for-request.js'
import {readMultipartForm, type MultipartForm} from '../read-multipart-form.js'
import type {ServerContext} from '../server-context.js'
import {validateUpload} from '../validate-upload.js'
import {sidecarPath, type CatalogVoice} from '../voice-catalog.js'
import {UPLOAD_TRUNCATE_SECONDS} from '../voice-resolver.js'

/** A created voice's name: a file stem that is safe on every file system and in a URL. */
const VOICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/
/** Licence facts stored with a created voice, besides the required `license`. */
const LICENSE_FIELDS = ['license', 'source', 'attribution'] as const

type VoiceForm = MultipartForm

/**
 * `/v1/audio/voices` (behind the API key like every route but the probes):
 * - `GET`: the voices served, `{object: "list", default, data: [{id, name, origin, license, deletable}], aliases}`;
 * - `POST` (multipart: `name`, `license`, optional `source` and `attribution`, the WAV prompt as `file`):
 *   the prompt is encoded once (Mimi encoder and FlowLM prefill, as `export-voice --engine native`) into
 *   `<voices>/<name>.safetensors` beside a `<name>.json` licence sidecar, both written atomically, the sidecar
 *   first; the voice is served at once and after a restart on the same folder;
 * - `DELETE /v1/audio/voices/:name`: removes a voice of the voices folder (model voices cannot be deleted).
 */
export function registerVoicesRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const reserved = new Set<string>()

  app.get('/v1/audio/voices', async () => ({
    object: 'list',
    default: ctx.catalog.defaultVoice,
    data: ctx.catalog.voices.map((v) => ({
      id: v.name,
      name: v.name,
      origin: v.origin,
      license: v.license,
      deletable: v.origin === 'voices-dir',
    })),
    aliases: ctx.catalog.aliases,
  }))

  app.post('/v1/audio/voices', async (request, reply) => {
    const dir = ctx.catalog.voicesDir
    if (dir === null)
      throw new HttpProblem({
        status: 409,
        code: 'voices_dir_not_set',
        message: 'This server has no voices folder to store new voices in.',
        hint: 'Start it with pockettts serve --voices DIR.',
      })
    const form = await readVoiceForm(request)
    const name = form.fields['name'] ?? ''
    if (!VOICE_NAME.test(name))
      throw new HttpProblem({
        status: 400,
        code: name === '' ? 'missing_required_parameter' : 'invalid_value',
        message: name === '' ? "Missing required parameter: 'name'." : `Invalid voice name ${JSON.stringify(name)}.`,
        hint: 'A name is 1-64 letters, digits, "_" or "-", starting with a letter or digit.',
        param: 'name',
      })
    const license = form.fields['license']?.trim() ?? ''
    if (license === '')
      throw new HttpProblem({
        status: 400,
        code: 'missing_required_parameter',
        message: "Missing required parameter: 'license' (the licence of the voice prompt, e.g. CC-BY-4.0).",
        param: 'license',
      })
    if (form.upload === undefined)
      throw new HttpProblem({
        status: 400,
        code: 'missing_required_parameter',
        message: "Missing required parameter: 'file' (a WAV voice prompt).",
        param: 'file',
      })
    if (reserved.has(name) || ctx.catalog.resolveName(name) !== undefined)
      throw new HttpProblem({
        status: 409,
        code: 'voice_exists',
        message: `A voice or alias named "${name}" already exists.`,
        hint: 'Choose another name, or DELETE /v1/audio/voices/NAME first.',
        param: 'name',
      })
    const upload = validateUpload({bytes: form.upload, field: 'file'})
    reserved.add(name)
    try {
      const lease = await leaseForRequest(ctx, reply)
      let voice: CatalogVoice
      let positions: number
      try {
        const prompt = audioPromptFromWav({
          wav: upload.wav,
          source: 'the uploaded file',
          truncateSeconds: UPLOAD_TRUNCATE_SECONDS,
          sampleRate: ctx.model.dims.sampleRate,
        })
        const state = await voiceStateFromPromptAudio({model: ctx.model, audio: prompt.audio})
        positions = state.offset
        const meta: Record<string, string> = {}
        for (const field of LICENSE_FIELDS) if (form.fields[field]?.trim()) meta[field] = form.fields[field]!.trim()
        const metadata = {...meta, prompt_sha256: upload.sha256, created: new Date().toISOString()}
        const path = join(dir, `${name}.safetensors`)
        await writeFileAtomic({path: sidecarPath(path), data: `${JSON.stringify(metadata, null, 2)}\n`})
        try {
          await writeFileAtomic({path, data: encodeVoiceState(state, ctx.model.facts.voicePadKeys)})
          await loadVoiceState({path, model: ctx.model.dims})
        } catch (error) {
          await rm(path, {force: true})
          await rm(sidecarPath(path), {force: true})
          throw error
        }
        voice = {name, origin: 'voices-dir', path, license: metadata}
      } finally {
        lease.release()
      }
      ctx.catalog.add(voice)
      request.log.info({event: 'voice_created', voice: name, positions}, 'voice created')
      return reply.code(201).send({
        id: name,
        object: 'voice',
        name,
        origin: voice.origin,
        license: voice.license,
        positions,
        warnings: upload.warnings.map((w) => w.code),
      })
    } finally {
      reserved.delete(name)
    }
  })

  app.delete<{Params: {name: string}}>('/v1/audio/voices/:name', async (request) => {
    const {name} = request.params
    const voice = ctx.catalog.get(name)
    if (voice === undefined)
      throw new HttpProblem({
        status: 404,
        code: 'voice_not_found',
        message: `No voice named "${name}".`,
        hint: 'GET /v1/audio/voices lists them.',
      })
    if (voice.origin !== 'voices-dir')
      throw new HttpProblem({
        status: 409,
        code: 'voice_not_deletable',
        message: `"${name}" is a voice of the model folder; only voices of the voices folder can be deleted.`,
      })
    try {
      ctx.catalog.remove(name)
    } catch (error) {
      throw new HttpProblem({
        status: 409,
        code: 'voice_in_use',
        message: `"${name}" cannot be deleted: ${(error as Error).message}`,
        cause: error,
      })
    }
    ctx.voices.forget(name)
    await rm(voice.path, {force: true})
    await rm(sidecarPath(voice.path), {force: true})
    request.log.info({event: 'voice_deleted', voice: name}, 'voice deleted')
    return {id: name, object: 'voice', deleted: true}
  })
}

/** The multipart form of `POST /v1/audio/voices`: text fields and the prompt (`file`, or `voice_wav` as in `/tts`). */
async function readVoiceForm(request: FastifyRequest): Promise<VoiceForm> {
  if (!request.isMultipart())
    throw new HttpProblem({
      status: 400,
      code: 'invalid_body',
      message: 'Send the voice as multipart/form-data: name, license and the WAV prompt as file.',
    })
  return readMultipartForm(request, (part) => (part.fieldname === 'file' || part.fieldname === 'voice_wav') && part.bytes.length > 0)
}
