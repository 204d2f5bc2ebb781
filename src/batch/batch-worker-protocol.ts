import type {AudioFormat} from '../audio/index.js'
import type {GenerationParams} from '../engine/generation-params.js'

/** What a batch worker process is started with (in `POCKETTTS_BATCH_WORKER`, as JSON). */
export interface BatchWorkerData {
  readonly modelDir: string
  /** onnxruntime intra-op threads of the worker's main-thread sessions; undefined = the engine's default. */
  readonly threads?: number
}

/** One item for a worker: everything it needs, paths absolute. */
export interface ItemRequest {
  readonly id: string
  readonly text: string
  readonly voice?: string
  readonly seed: number
  readonly params: GenerationParams
  readonly format: AudioFormat
  readonly trailingSilence: number
  /** The output file, written to a temporary name beside it and renamed into place. */
  readonly path: string
}

/** What was made for one item. */
export interface ItemResult {
  readonly sha256: string
  readonly bytes: number
  readonly frames: number
  readonly chunks: number
  /** Generated audio, trailing silence excluded. */
  readonly audioSeconds: number
  /** The file's duration, trailing silence included. */
  readonly fileSeconds: number
  /** The voice used, as synth reports it (`name:alba`, a file path). */
  readonly voiceLabel: string
  readonly elapsedMs: number
}

/** A failure as plain data (PocketTtsError fields when it was one). */
export interface ItemFailure {
  readonly code: string
  readonly message: string
  readonly hint?: string
}

/** Parent → worker. */
export type BatchWorkerRequest = {readonly kind: 'item'; readonly job: number; readonly request: ItemRequest} | {readonly kind: 'stop'}

/** Worker → parent. */
export type BatchWorkerReply =
  | {readonly kind: 'ready'}
  | {readonly kind: 'load-failed'; readonly error: ItemFailure}
  | {readonly kind: 'done'; readonly job: number; readonly result: ItemResult}
  | {readonly kind: 'failed'; readonly job: number; readonly error: ItemFailure}

/** The environment variable that carries BatchWorkerData to a worker process. */
export const BATCH_WORKER_ENV = 'POCKETTTS_BATCH_WORKER'
