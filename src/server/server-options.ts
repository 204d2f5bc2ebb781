import type {Writable} from 'node:stream'
import type {EngineModel} from '../engine/engine-model.js'
import type {FlowLmBatcher} from '../flowlm/flow-lm-batcher.js'
import {modelGenerationDefaults, type GenerationParams} from '../engine/generation-params.js'
import {UsageError} from '../errors/index.js'
import {checkKnob, describeKnobRange, type KnobName} from '../limits/knob-ranges.js'

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
  /** Voice aliases (`{alloy: 'alba'}`) added to and overriding the default OpenAI aliases (voice-aliases.ts). */
  readonly voiceAliases?: Readonly<Record<string, string>>
  /** Voice states kept in the LRU cache (named voices and uploaded prompts). @default 16 */
  readonly voiceCacheEntries?: number
  /** Model ids `/v1/audio/speech` accepts. @default DEFAULT_MODEL_IDS */
  readonly modelIds?: readonly string[]
  /** Structured JSON logs (request ids, no request text at info level); false: none. @default {level: 'info'} */
  readonly log?: ServerLogOptions | false
  /** Generation settings for every request (a request's own `temperature` wins). @default the model's (modelGenerationDefaults) */
  readonly generation?: Partial<GenerationParams>
  /** Include Node process metrics (memory, CPU, event-loop lag) in /metrics. @default true */
  readonly processMetrics?: boolean
  /**
   * Batched AR steps (`openFlowLmBatcher`): generations running at the same time share each FlowLM call. Absent:
   * each generation runs its own steps, interleaved with the others.
   */
  readonly batcher?: FlowLmBatcher
}

export type ResolvedServerOptions = Required<
  Omit<CreateServerParams, 'voicesDir' | 'apiKey' | 'corsOrigins' | 'log' | 'generation' | 'voiceAliases' | 'batcher'>
> &
  Pick<CreateServerParams, 'voicesDir' | 'apiKey' | 'corsOrigins' | 'log' | 'voiceAliases' | 'batcher'> & {
    readonly generation: GenerationParams
  }

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
    generation: {...modelGenerationDefaults(params.model.facts), ...params.generation},
  }
  const bytesPerMb = 1024 * 1024
  checkOption('workers', 'workers', resolved.workers)
  checkOption('queue', 'queue', resolved.queue)
  checkOption('serverTextChars', 'maxTextChars', resolved.maxTextChars)
  checkOption('maxUploadMb', 'maxUploadBytes (in MiB)', resolved.maxUploadBytes / bytesPerMb)
  checkOption('voiceCache', 'voiceCacheEntries', resolved.voiceCacheEntries)
  checkOption('requestTimeout', 'requestTimeoutMs (in seconds)', resolved.requestTimeoutMs / 1000)
  if (!Number.isSafeInteger(resolved.bodyLimitBytes) || resolved.bodyLimitBytes < 1) {
    throw new UsageError({
      code: 'INVALID_SERVER_OPTION',
      message: `bodyLimitBytes must be a whole number >= 1 (got ${resolved.bodyLimitBytes}).`,
      hint: 'Fix bodyLimitBytes.',
    })
  }
  if (!Number.isSafeInteger(resolved.maxUploadBytes)) {
    throw new UsageError({
      code: 'INVALID_SERVER_OPTION',
      message: `maxUploadBytes must be a whole number of bytes (got ${resolved.maxUploadBytes}).`,
      hint: 'Fix maxUploadBytes.',
    })
  }
  if (resolved.apiKey !== undefined && resolved.apiKey.trim().length === 0) {
    throw new UsageError({
      code: 'INVALID_SERVER_OPTION',
      message: 'The API key is empty.',
      hint: 'Pass a non-empty --api-key or leave it out.',
    })
  }
  const gen = resolved.generation
  checkOption('temperature', 'generation.temperature', gen.temperature)
  checkOption('lsdDecodeSteps', 'generation.lsdDecodeSteps', gen.lsdDecodeSteps)
  checkOption('maxTokens', 'generation.maxTokens', gen.maxTokens)
  checkOption('eosThreshold', 'generation.eosThreshold', gen.eosThreshold)
  if (gen.noiseClamp !== null) checkOption('noiseClamp', 'generation.noiseClamp', gen.noiseClamp)
  if (gen.framesAfterEos !== null) checkOption('framesAfterEos', 'generation.framesAfterEos', gen.framesAfterEos)
  if (resolved.modelIds.length === 0) {
    throw new UsageError({code: 'INVALID_SERVER_OPTION', message: 'modelIds is empty.', hint: 'Accept at least one model id.'})
  }
  return resolved
}

/** A server option checked against its knob's range (the same table as the flags and the config file). */
function checkOption(knob: KnobName, option: string, value: number): void {
  const check = checkKnob(knob, value)
  if (!check.ok) {
    throw new UsageError({
      code: 'INVALID_SERVER_OPTION',
      message: `${option}: ${check.reason}.`,
      hint: `Fix ${option}; docs/limits-and-deployment.md lists every range.`,
      details: {option, received: value, allowed: describeKnobRange(knob)},
    })
  }
}
