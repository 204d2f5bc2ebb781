import type {ChainedState} from './mimi-decoder-stream.js'

/** What the Mimi decoder worker is started with (structured-cloned into the worker). */
export interface MimiWorkerData {
  readonly dir: string
  readonly files: {readonly latent_to_mimi: string; readonly mimi_decoder: string}
  readonly states: readonly ChainedState[]
  readonly mimiInputDim: number
  readonly latentDim: number
  readonly threads: number
  readonly allowSpinning: boolean
  /** Most frames one decode request may carry (1: the export's decoder takes exactly one frame). */
  readonly maxFrames: number
}

/** Main thread → worker. Each stream is one independent decoder state (one text chunk at a time). */
export type MimiWorkerRequest =
  | {readonly kind: 'open'; readonly stream: number}
  | {readonly kind: 'reset'; readonly stream: number}
  | {readonly kind: 'close'; readonly stream: number}
  /**
   * Consecutive latents decoded in one call (one id per frame). `first`: the stream's first call since its open or
   * reset (a chunk's first audio), decoded before other streams' waiting calls.
   */
  | {
      readonly kind: 'decode'
      readonly stream: number
      readonly ids: readonly number[]
      readonly latents: readonly Float32Array[]
      readonly first?: boolean
    }
  | {readonly kind: 'shutdown'}

/** A failure inside the worker, as plain data (PocketTtsError fields when it was one). */
export interface MimiWorkerFailure {
  readonly code: string
  readonly message: string
  readonly hint?: string
}

/** Worker → main thread. */
export type MimiWorkerReply =
  | {readonly kind: 'ready'}
  | {readonly kind: 'load-failed'; readonly error: MimiWorkerFailure}
  | {readonly kind: 'decoded'; readonly id: number; readonly mimiInput: Float32Array; readonly audio: Float32Array; readonly ms: number}
  | {readonly kind: 'decode-failed'; readonly id: number; readonly error: MimiWorkerFailure}
  | {readonly kind: 'shut-down'}
