import type {FastifyInstance} from 'fastify'
import {DEFAULT_SPEECH_FORMAT, isSpeechFormat, MAX_SPEED, MIN_SPEED, SPEECH_FORMATS, speechFormatUnavailable} from '../../audio/index.js'
import {HttpProblem} from '../http-problem.js'
import {parseSamplingFields} from '../sampling-fields.js'
import type {ServerContext} from '../server-context.js'
import {streamSpeech, type SpeechOutput} from '../stream-speech.js'

/** Fields of OpenAI's `POST /v1/audio/speech` body, plus our `seed` and `temperature`. */
const KNOWN_FIELDS = new Set([
  'model',
  'input',
  'voice',
  'response_format',
  'speed',
  'instructions',
  'stream_format',
  'seed',
  'temperature',
])
/**
 * `POST /v1/audio/speech`, OpenAI-compatible: JSON `model` (one of the accepted ids), `input`, `voice` (a
 * voice name of this server, or `{id}`), `response_format` one of OpenAI's six (`mp3` by default, `opus` in
 * Ogg, `aac` in ADTS, `flac`, `wav`, `pcm` = raw 16-bit LE 24 kHz mono), `speed` 0.25-4 (a pitch-preserving
 * time stretch), `stream_format` `audio` (chunked bytes, default) or `sse` (`speech.audio.delta` events with
 * base64 audio, then `speech.audio.done` with usage). Non-empty `instructions`, values out of range and
 * unknown fields are refused with 400 in OpenAI's shape.
 */
export function registerOpenAiSpeechRoute(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/v1/audio/speech', async (request, reply) => {
    const body = request.body
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new HttpProblem({
        status: 400,
        code: 'invalid_body',
        message: 'The request body must be a JSON object.',
        hint: 'Send Content-Type: application/json.',
      })
    }
    const fields = body as Record<string, unknown>
    for (const key of Object.keys(fields)) {
      if (!KNOWN_FIELDS.has(key))
        throw new HttpProblem({
          status: 400,
          code: 'unknown_parameter',
          message: `Unrecognized request argument supplied: ${key}`,
          param: key,
        })
    }
    const model = requiredString(fields, 'model')
    if (!ctx.options.modelIds.includes(model)) {
      throw new HttpProblem({
        status: 400,
        code: 'model_not_found',
        message: `The model \`${model}\` does not exist on this server; use one of: ${ctx.options.modelIds.join(', ')}.`,
        param: 'model',
      })
    }
    const input = requiredString(fields, 'input')
    if (input.trim() === '')
      throw new HttpProblem({status: 400, code: 'invalid_value', message: 'input must not be empty.', param: 'input'})
    if (input.length > ctx.options.maxTextChars) {
      throw new HttpProblem({
        status: 400,
        code: 'string_above_max_length',
        message: `input has ${input.length} characters; the limit is ${ctx.options.maxTextChars}.`,
        param: 'input',
      })
    }
    const voice = ctx.voices.checkName(voiceName(fields['voice']), 'voice')
    const format = optionalString(fields, 'response_format') ?? DEFAULT_SPEECH_FORMAT
    if (!isSpeechFormat(format))
      throw new HttpProblem({
        status: 400,
        code: 'invalid_value',
        message: `Invalid response_format ${JSON.stringify(format)}; use one of ${SPEECH_FORMATS.join(', ')}.`,
        param: 'response_format',
      })
    const unavailable = speechFormatUnavailable(format)
    if (unavailable !== undefined)
      throw new HttpProblem({status: 400, code: 'unsupported_response_format', message: unavailable, param: 'response_format'})
    const streamFormat = optionalString(fields, 'stream_format') ?? 'audio'
    if (streamFormat !== 'audio' && streamFormat !== 'sse')
      throw new HttpProblem({
        status: 400,
        code: 'invalid_value',
        message: `Invalid stream_format ${JSON.stringify(streamFormat)}; use audio or sse.`,
        param: 'stream_format',
      })
    const speed = fields['speed'] ?? 1
    if (typeof speed !== 'number' || !(speed >= MIN_SPEED && speed <= MAX_SPEED))
      throw new HttpProblem({
        status: 400,
        code: 'invalid_value',
        message: `speed must be a number from ${MIN_SPEED} to ${MAX_SPEED}; got ${JSON.stringify(speed)}.`,
        param: 'speed',
      })
    const instructions = fields['instructions']
    if (instructions !== undefined && instructions !== null && instructions !== '') {
      if (typeof instructions !== 'string')
        throw new HttpProblem({status: 400, code: 'invalid_type', message: 'instructions must be a string.', param: 'instructions'})
      throw new HttpProblem({
        status: 400,
        code: 'unsupported_parameter',
        message: 'instructions are not supported by this model.',
        param: 'instructions',
      })
    }
    const sampling = parseSamplingFields({
      seed: fields['seed'],
      temperature: fields['temperature'],
      fromForm: false,
      defaultTemperature: ctx.options.generation.temperature,
    })
    const output: SpeechOutput = {stream: streamFormat, format, speed}
    return streamSpeech(ctx, request, reply, {
      route: '/v1/audio/speech',
      text: input,
      voice: {kind: 'name', name: voice},
      ...sampling,
      output,
    })
  })
}

function requiredString(fields: Record<string, unknown>, param: string): string {
  const value = fields[param]
  if (value === undefined || value === null)
    throw new HttpProblem({status: 400, code: 'missing_required_parameter', message: `Missing required parameter: '${param}'.`, param})
  if (typeof value !== 'string') throw new HttpProblem({status: 400, code: 'invalid_type', message: `${param} must be a string.`, param})
  return value
}

function optionalString(fields: Record<string, unknown>, param: string): string | undefined {
  const value = fields[param]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw new HttpProblem({status: 400, code: 'invalid_type', message: `${param} must be a string.`, param})
  return value
}

function voiceName(value: unknown): string {
  if (value === undefined || value === null)
    throw new HttpProblem({
      status: 400,
      code: 'missing_required_parameter',
      message: "Missing required parameter: 'voice'.",
      param: 'voice',
    })
  if (typeof value === 'string') return value
  if (typeof value === 'object' && !Array.isArray(value) && typeof (value as {id?: unknown}).id === 'string')
    return (value as {id: string}).id
  throw new HttpProblem({
    status: 400,
    code: 'invalid_type',
    message: 'voice must be a voice name or an object {"id": name}.',
    param: 'voice',
  })
}
