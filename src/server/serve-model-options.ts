import type {LoadEngineModelParams} from '../engine/engine-model.js'
import {defaultThreads} from '../onnx/create-sessions.js'

export interface ServeModelParams {
  readonly dir: string
  /** Share the FlowLM calls of concurrent generations (serve --batching). */
  readonly batching: boolean
  /** Decode Mimi on the decoder worker (serve --mimi-worker). @default false */
  readonly mimiWorker?: boolean
  /** Intra-op threads of the main-thread sessions. @default physical cores; minus the Mimi worker's one with it, at least 1 */
  readonly threads?: number
}

/**
 * How `serve` loads its model, batched or not (`--no-batching` differs only in its FlowLM calls). Mimi is decoded per
 * stream in frame groups: by default inline (every graph call in turn on the JavaScript thread, each on all cores), or
 * with `mimiWorker` on the decoder worker's one thread for every stream (a chunk's first frame ahead of the others'
 * waiting frames) beside the FlowLM calls on the other cores. Measured on 2 busy cores at 4 connections
 * (docs/performance.md, "Serve throughput"): the worker cut the server's CPU per request by a fifth in both modes
 * but made first audio later, so it is not the default.
 */
export function serveModelOptions(params: ServeModelParams): LoadEngineModelParams {
  const mimiWorker = params.mimiWorker ?? false
  const threads = params.threads ?? (mimiWorker ? Math.max(1, defaultThreads() - 1) : undefined)
  return {dir: params.dir, batching: params.batching, mimiWorker, ...(threads === undefined ? {} : {threads})}
}
