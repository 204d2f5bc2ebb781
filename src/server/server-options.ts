import type {Writable} from 'node:stream'
import type {EngineModel} from '../engine/engine-model.js'
import {defaultGenerationParams, type GenerationParams} from '../engine/generation-params.js'
import {UsageError} from '../errors/index.js'

/** Model ids `/v1/audio/speech` accepts: ours, plus OpenAI's TTS ids so OpenAI clients work unchanged. */
export const DEFAULT_MODEL_IDS = ['pocket-tts', 'tts-1', 'tts-1-hd', 'gpt-4o-mini-tts'] as const

export interface ServerLogOptions {
  /** pino level: fatal, error, warn, info, debug, trace, silent. @default 'info' */
  readonly level?: string
  /** Where the JSON lines go. @default process.stderr */
  readonly stream?: Writable
}

export interface CreateServerParams {
  /** A loaded model (`loadEngineModel`), shared by every request; the caller releases it after `close()`. */
  readonly model: EngineModel
  /** Extra `*.safetensors` voice states (name = file stem), served beside the model folder's voices. */
  readonly voicesDir?: string
  /** Generations running at once. They share one model and one JS thread (onnxruntime computes off it). @default 1 */
  readonly workers?: number
  /** Requests that may wait for a generation; beyond it 429. @default 16 */
  readonly queue?: number
  /** Per request, from admission to the end of the audio (queueing included). @default 120000 */
  readonly requestTimeoutMs?: number
  /** Longer texts are refused with 400. @default 4096 (OpenAI's limit) */
  readonly maxTextChars?: number
  /** Largest `voice_wav` upload; beyond it 413. @default 16 MiB */
  readonly maxUploadBytes?: number
  /** Largest JSON or form body; beyond it 413. @default 1 MiB */
  readonly bodyLimitBytes?: number
  /** When set, every route except /health and /ready needs `Authorization: Bearer KEY` (or `X-API-Key: KEY`). */
  readonly apiKey?: string
  /** Origins allowed by CORS (`*` for any); CORS is off when absent. */
  readonly corsOrigins?: readonly string[] | '*'
  /** Voice states kept in the LRU cache (named voices and uploaded prompts). @default 16 */
  readonly voiceCacheEntries?: number
  /** Model ids `/v1/audio/speech` accepts. @default DEFAULT_MODEL_IDS */
  readonly modelIds?: readonly string[]
  /** Structured JSON logs (request ids, no request text at info level); false: none. @default {level: 'info'} */
  readonly log?: ServerLogOptions | false
  /** Generation settings for every request (a request's own `temperature` wins). @default upstream's defaults */
  readonly generation?: Partial<GenerationParams>
  /** Include Node process metrics (memory, CPU, event-loop lag) in /metrics. @default true */
  readonly processMetrics?: boolean
}

export type ResolvedServerOptions = Required<Omit<CreateServerParams, 'voicesDir' | 'apiKey' | 'corsOrigins' | 'log' | 'generation'>> &
  Pick<CreateServerParams, 'voicesDir' | 'apiKey' | 'corsOrigins' | 'log'> & {readonly generation: GenerationParams}

/** Fills the defaults and checks the limits (UsageError naming the option). */
export function resolveServerOptions(params: CreateServerParams): ResolvedServerOptions {
  const resolved: ResolvedServerOptions = {
    ...params,
    workers: params.workers ?? 1,
    queue: params.queue ?? 16,
    requestTimeoutMs: params.requestTimeoutMs ?? 120_000,
    maxTextChars: params.maxTextChars ?? 4096,
    maxUploadBytes: params.maxUploadBytes ?? 16 * 1024 * 1024,
    bodyLimitBytes: params.bodyLimitBytes ?? 1024 * 1024,
    voiceCacheEntries: params.voiceCacheEntries ?? 16,
    modelIds: params.modelIds ?? DEFAULT_MODEL_IDS,
    processMetrics: params.processMetrics ?? true,
    generation: {...defaultGenerationParams, ...params.generation},
  }
  const whole = (name: string, value: number, min: number): void => {
    if (!Number.isInteger(value) || value < min) {
      throw new UsageError({code: 'INVALID_SERVER_OPTION', message: `${name} must be a whole number >= ${min} (got ${value}).`, hint: `Fix ${name}.`})
    }
  }
  whole('workers', resolved.workers, 1)
  whole('queue', resolved.queue, 0)
  whole('maxTextChars', resolved.maxTextChars, 1)
  whole('maxUploadBytes', resolved.maxUploadBytes, 1)
  whole('bodyLimitBytes', resolved.bodyLimitBytes, 1)
  whole('voiceCacheEntries', resolved.voiceCacheEntries, 0)
  if (!(resolved.requestTimeoutMs > 0) || !Number.isFinite(resolved.requestTimeoutMs)) {
    throw new UsageError({code: 'INVALID_SERVER_OPTION', message: `requestTimeoutMs must be a positive number (got ${resolved.requestTimeoutMs}).`, hint: 'Fix the request timeout.'})
  }
  if (resolved.apiKey !== undefined && resolved.apiKey.trim().length === 0) {
    throw new UsageError({code: 'INVALID_SERVER_OPTION', message: 'The API key is empty.', hint: 'Pass a non-empty --api-key or leave it out.'})
  }
  const gen = resolved.generation
  if (!(gen.temperature >= 0) || !Number.isFinite(gen.temperature)) throw invalidGeneration(`temperature must be a number >= 0 (got ${gen.temperature})`)
  whole('generation.lsdDecodeSteps', gen.lsdDecodeSteps, 1)
  whole('generation.maxTokens', gen.maxTokens, 1)
  if (Number.isNaN(gen.eosThreshold)) throw invalidGeneration('eosThreshold must be a number')
  if (gen.noiseClamp !== null && !(gen.noiseClamp > 0)) throw invalidGeneration(`noiseClamp must be a positive number or null (got ${gen.noiseClamp})`)
  if (gen.framesAfterEos !== null) whole('generation.framesAfterEos', gen.framesAfterEos, 0)
  if (resolved.modelIds.length === 0) {
    throw new UsageError({code: 'INVALID_SERVER_OPTION', message: 'modelIds is empty.', hint: 'Accept at least one model id.'})
  }
  return resolved
}

function invalidGeneration(why: string): UsageError {
  return new UsageError({code: 'INVALID_SERVER_OPTION', message: `generation.${why}.`, hint: 'Fix the generation settings.'})
}
