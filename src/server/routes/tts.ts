import type {FastifyInstance, FastifyRequest} from 'fastify'
import {UPSTREAM_TRAILING_SILENCE_SECONDS} from '../../audio/index.js'
import {HttpProblem} from '../http-problem.js'
import {readMultipartForm, type MultipartForm} from '../read-multipart-form.js'
import {parseSamplingFields} from '../sampling-fields.js'
import type {ServerContext} from '../server-context.js'
import {streamSpeech} from '../stream-speech.js'
import {validateUpload} from '../validate-upload.js'
import type {VoiceSelection} from '../voice-resolver.js'

type TtsForm = MultipartForm

/**
 * `POST /tts`, upstream's form: `text`, and at most one of `voice_url` (a voice name of this server; remote
 * URLs are not fetched) and `voice_wav` (an uploaded WAV prompt, first 30 s used). Optional extensions:
 * `seed`, `temperature`. Answers a streamed 16-bit 24 kHz mono WAV (placeholder length, 0.2 s of trailing
 * silence, as upstream). Errors are upstream's `{detail}` with a `code`.
 */
export function registerTtsRoute(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/tts', async (request, reply) => {
    const form = await readForm(request)
    const text = form.fields['text'] ?? ''
    if (text.trim() === '') throw new HttpProblem({status: 400, code: 'text_empty', message: 'Text cannot be empty', param: 'text'})
    if (text.length > ctx.options.maxTextChars) {
      throw new HttpProblem({
        status: 400,
        code: 'text_too_long',
        message: `Text has ${text.length} characters; the limit is ${ctx.options.maxTextChars}.`,
        hint: 'Split the text into several requests.',
        param: 'text',
      })
    }
    const voiceUrl = form.fields['voice_url']
    if (voiceUrl !== undefined && form.upload !== undefined) {
      throw new HttpProblem({
        status: 400,
        code: 'voice_conflict',
        message: 'Cannot provide both voice_url and voice_wav',
        param: 'voice_url',
      })
    }
    let voice: VoiceSelection
    if (form.upload !== undefined) {
      voice = validateUpload({bytes: form.upload, field: 'voice_wav'})
      for (const warning of voice.warnings) request.log.warn({event: 'prompt_warning', code: warning.code}, warning.message)
    } else if (voiceUrl !== undefined) {
      if (/^(https?|hf):\/\//i.test(voiceUrl)) {
        throw new HttpProblem({
          status: 400,
          code: 'voice_url_unsupported',
          message: 'This server does not fetch remote voices; voice_url must be a voice name of the server.',
          hint: 'GET /voices lists the names; or upload the prompt as voice_wav.',
          param: 'voice_url',
        })
      }
      voice = {kind: 'name', name: ctx.voices.checkName(voiceUrl, 'voice_url')}
    } else {
      const name = ctx.catalog.defaultVoice
      if (name === null)
        throw new HttpProblem({
          status: 400,
          code: 'voice_required',
          message: 'This server has no voice of its own; upload voice_wav.',
          param: 'voice_wav',
        })
      voice = {kind: 'name', name}
    }
    const sampling = parseSamplingFields({
      seed: form.fields['seed'],
      temperature: form.fields['temperature'],
      fromForm: true,
      defaultTemperature: ctx.options.generation.temperature,
    })
    return streamSpeech(ctx, request, reply, {
      route: '/tts',
      text,
      voice,
      ...sampling,
      output: {
        stream: 'audio',
        format: 'wav',
        trailingSilenceSeconds: UPSTREAM_TRAILING_SILENCE_SECONDS,
        headers: {'content-disposition': 'attachment; filename=generated_speech.wav', ...promptWarningHeader(voice)},
      },
    })
  })
}

/** An uploaded prompt's warnings (silent, very short) as `x-pockettts-warning: PROMPT_SILENT, ...`; none otherwise. */
function promptWarningHeader(voice: VoiceSelection): Record<string, string> {
  if (voice.kind !== 'upload' || voice.warnings.length === 0) return {}
  return {'x-pockettts-warning': voice.warnings.map((w) => w.code).join(', ')}
}

/** Reads a multipart or urlencoded form (upstream's FastAPI `Form` takes both); unknown fields are ignored, as upstream does. */
async function readForm(request: FastifyRequest): Promise<TtsForm> {
  if (!request.isMultipart()) {
    const body = request.body
    const fields: Record<string, string> = {}
    if (body !== null && typeof body === 'object') for (const [k, v] of Object.entries(body)) if (typeof v === 'string') fields[k] = v
    return {fields, upload: undefined}
  }
  // A browser form with no file chosen sends an empty part without a file name: no upload.
  return readMultipartForm(request, (part) => part.fieldname === 'voice_wav' && !(part.bytes.length === 0 && part.filename === ''))
}
