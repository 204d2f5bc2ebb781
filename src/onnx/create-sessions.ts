import {availableParallelism} from 'node:os'
import {join} from 'node:path'
import * as ort from 'onnxruntime-node'
import {ModelError} from '../errors/index.js'

export type Sessions<Name extends string> = Readonly<Record<Name, ort.InferenceSession>>

export interface CreateSessionsParams<Name extends string> {
  /** Folder holding the graph files. */
  readonly dir: string
  /** Graph name → file name inside `dir`. */
  readonly files: Readonly<Record<Name, string>>
  /** onnxruntime intra-op threads. @default physical cores (half the logical ones, at least 1) */
  readonly threads?: number
  /**
   * Let idle intra-op threads spin between operators (onnxruntime's default). Spinning trades CPU for a few
   * microseconds of latency per parallel operator; when another session runs at the same time on the other
   * cores (the Mimi decoder worker) the spinning steals their time, so the engine turns it off.
   * @default true
   */
  readonly allowSpinning?: boolean
  /**
   * Graphs run without onnxruntime's memory patterns: each activation then comes from the arena on its own
   * instead of one planned block per input shape.
   */
  readonly noMemPattern?: readonly NoInfer<Name>[]
  /** Graphs that run on fewer intra-op threads than `threads` (graph name → threads). */
  readonly threadsFor?: Readonly<Partial<Record<NoInfer<Name>, number>>>
}

/**
 * The Mimi graphs run without memory patterns (CreateSessionsParams.noMemPattern): called with 1, 2 and 4 frames,
 * they kept a planned block per call size in the arena; without them the peak RSS is ~10 MB lower and the decoder
 * measured no slower (alone, 92 frames grouped as the engine does, alternating: 8.5 vs 8.9 and 10.5 vs 11.8 ms a frame).
 */
export const MIMI_NO_MEM_PATTERN = ['latent_to_mimi', 'mimi_decoder'] as const

/** The default thread count: one per physical core (logical cores / 2 on SMT machines, at least 1). */
export function defaultThreads(): number {
  const logical = availableParallelism()
  return Math.max(1, logical >= 4 ? Math.floor(logical / 2) : logical)
}

/** The session options every graph of the engine uses. */
export function sessionOptions(params: {
  readonly threads?: number
  readonly allowSpinning?: boolean
  readonly memPattern?: boolean
}): ort.InferenceSession.SessionOptions {
  const session: Record<string, string | Record<string, string>> = {}
  if (params.allowSpinning === false) {
    session['intra_op'] = {allow_spinning: '0'}
    session['inter_op'] = {allow_spinning: '0'}
  }
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: params.threads ?? defaultThreads(),
    interOpNumThreads: 1,
    enableCpuMemArena: true,
    enableMemPattern: params.memPattern ?? true,
    ...(Object.keys(session).length === 0 ? {} : {extra: {session}}),
  }
}

/** Creates one onnxruntime session per graph, in parallel, keyed by graph name. */
export async function createSessions<Name extends string>(params: CreateSessionsParams<Name>): Promise<Sessions<Name>> {
  const entries = await Promise.all(
    (Object.entries(params.files) as [Name, string][]).map(async ([name, file]) => {
      const path = join(params.dir, file)
      const options = sessionOptions({
        ...params,
        threads: params.threadsFor?.[name] ?? params.threads,
        memPattern: !(params.noMemPattern ?? []).includes(name),
      })
      try {
        return [name, await ort.InferenceSession.create(path, options)] as const
      } catch (error) {
        throw new ModelError({
          code: 'GRAPH_LOAD_FAILED',
          message: `onnxruntime could not load graph ${name} (${path}): ${(error as Error).message.split('\n')[0]}`,
          hint: 'Run `pockettts model verify DIR` to find the damaged file, then export the model again.',
          details: {graph: name, path},
          cause: error,
        })
      }
    }),
  )
  return Object.fromEntries(entries) as Record<Name, ort.InferenceSession>
}
