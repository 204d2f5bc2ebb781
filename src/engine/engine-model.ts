import {join} from 'node:path'
import type * as ort from 'onnxruntime-node'
import {ModelError} from '../errors/index.js'
import type {FlowLmBatcher} from '../flowlm/flow-lm-batcher.js'
import {flowLmStateTable, type FlowLmStateTable} from '../flowlm/flow-lm-state.js'
import {mainThreadCount} from './main-threads.js'
import type {KvLayout} from '../flowlm/kv-cache.js'
import type {ChainedState} from '../mimi/mimi-decoder-stream.js'
import {MimiDecodeWorker} from '../mimi/mimi-decode-worker.js'
import type {GraphEntry} from '../model/manifest-types.js'
import {graphEntry, readManifest} from '../model/read-manifest.js'
import {createSessions, defaultThreads, MIMI_NO_MEM_PATTERN, type Sessions} from '../onnx/create-sessions.js'
import {releaseFacts, type ReleaseFacts} from '../model/release-facts.js'
import {loadJsonTokenizer, loadSentencePieceTokenizer, textConfigFromManifest, type TextFrontEnd} from '../text/index.js'
import {batchedGraphs, openFlowLmBatcher} from './open-batcher.js'

/** The graphs the engine runs for every synthesis; `mimi_encoder` is loaded on first use (voice prompts). */
export const coreGraphs = ['text_conditioner', 'flow_lm_main', 'flow_lm_flow', 'latent_to_mimi', 'mimi_decoder'] as const
export type CoreGraph = (typeof coreGraphs)[number]

/**
 * The optional combined step graph of a one-step sampler head (flow_lm_main then flow_lm_flow in one call,
 * scripts/pockettts_tools/step_graph.py): one session.run per AR step instead of two.
 */
export const STEP_WITH_HEAD_GRAPH = 'flow_lm_main_flow'

/** The sampler heads the combined step graph serves (one flow_lm_flow call per latent). */
const ONE_STEP_SAMPLERS: ReadonlySet<string> = new Set(['drifting', 'pointwise'])

/** `heads` is the FlowLM's KV heads (manifest num_kv_heads: fewer than its query heads with grouped-query attention). */
export interface EngineDims extends KvLayout {
  readonly dModel: number
  /** Width of flow_lm_main's `hidden` (4.x z_dim projection; else dModel). */
  readonly hiddenDim: number
  readonly latentDim: number
  readonly mimiInputDim: number
  readonly frameSize: number
  readonly sampleRate: number
}

/** An exported model folder, loaded: sessions keyed by graph name, dimensions, state tables, text front-end. */
export interface EngineModel {
  readonly dir: string
  readonly generation: 'v1' | 'v2'
  readonly dims: EngineDims
  /** The upstream release the export follows and what its loop does differently (sampler, EOS, fade-in, voice). */
  readonly facts: ReleaseFacts
  /**
   * One session per core graph. When the model was loaded with `mimiWorker: true`, `latent_to_mimi` and
   * `mimi_decoder` live in the worker instead and reading them here throws (ModelError MIMI_IN_WORKER).
   */
  readonly sessions: Sessions<CoreGraph>
  /**
   * The combined step graph (STEP_WITH_HEAD_GRAPH), when the export has one and it was not turned off: AR steps
   * then take one call that returns the latent too. `sessions.flow_lm_main` is then this same session (prefills
   * feed it a zero noise and leave the latent unfetched): the FlowLM weights are loaded once.
   */
  readonly stepWithHead?: ort.InferenceSession
  /**
   * The batched FlowLM, when loaded with `batching: true` from an export with batched graphs: every FlowLM call
   * (voice prefills, text prefills, AR steps) then runs through it, and `flow_lm_main`/`flow_lm_flow` are not
   * loaded (reading them throws ModelError FLOW_LM_BATCHED): one copy of the FlowLM weights.
   */
  readonly batcher?: FlowLmBatcher
  /** The Mimi decoder thread, when loaded with `mimiWorker: true`; generateAudio then overlaps decoding with the next FlowLM step. */
  readonly mimiWorker?: MimiDecodeWorker
  /** Frames one mimi_decoder call may take (1 for exports without `n_frames`). */
  readonly mimiMaxFrames: number
  /** Rows to preallocate for the FlowLM KV cache (manifest capacities.flow_kv_positions). */
  readonly kvCapacity: number
  /** How the FlowLM KV cache feeds flow_lm_main and is extended by it (its manifest state table). */
  readonly flowLmState: FlowLmStateTable
  readonly mimiStates: readonly ChainedState[]
  readonly text: TextFrontEnd
  /** Voice files shipped in the folder: name → absolute path. */
  readonly voices: Readonly<Record<string, string>>
  /** Intra-op threads used: main-thread sessions, and the Mimi worker's (null without the worker). */
  readonly threads: {readonly main: number; readonly mimi: number | null}
  /** The voice encoder session, created on first call. */
  encoder(): Promise<ort.InferenceSession>
  release(): Promise<void>
}

export interface LoadEngineModelParams {
  /** An exported model folder (manifest.json + graphs). */
  readonly dir: string
  /**
   * onnxruntime intra-op threads of the main-thread sessions (FlowLM, flow head, text).
   * @default physical cores; for an int8 export whose Mimi decoder stayed fp32, with the Mimi worker, physical cores minus the worker's (at least 1)
   */
  readonly threads?: number
  /**
   * Decode Mimi on a worker thread, overlapped with the next FlowLM step (the fast path of synth, serve and
   * bench). The Mimi sessions are then created in the worker only.
   * @default false
   */
  readonly mimiWorker?: boolean
  /** Run AR steps through the export's combined step graph when it has one (STEP_WITH_HEAD_GRAPH). @default true */
  readonly stepWithHead?: boolean
  /**
   * Run the FlowLM through the export's batched graphs only (serve --batching): see EngineModel.batcher. An
   * export without them (or an int8 or one-step-head export) loads its solo graphs as without this option.
   * @default false
   */
  readonly batching?: boolean
}

/** The Mimi worker's intra-op threads: one (it overlaps the FlowLM running on the other cores). */
const MIMI_THREADS = 1

/**
 * Idle onnxruntime threads do not spin (see CreateSessionsParams.allowSpinning): spinning pool threads steal the
 * cores the other thread (and other processes) need, which costs far more than it saves.
 */
const ALLOW_SPINNING = false

/**
 * The flow head's intra-op threads: one. A second pool thread beside the FlowLM's and the Mimi worker's only
 * contends for the 2 cores: full-size `bench`, alternating, 1 against 2 threads: fp32 (unpacked head) 3.96–4.11x vs
 * 3.59–3.85x real time; pre-packed, fp32 4.21–4.30x vs 3.71–4.23x and int8 11.0–11.2x vs 9.6–10.8x.
 * Its weights are pre-packed like every graph's: unpacked, its batch-1 Gemms took 4.1–4.5 ms a step against
 * 2.9–3.2 ms (fp32, 2 rounds: 4.43x vs 3.98–4.12x; int8 8.0–8.6x vs 7.8–8.1x), peak RSS unchanged.
 */
const FLOW_HEAD_THREADS = 1

/** Reads manifest.json, creates the sessions and the text front-end of an exported model folder. */
export async function loadEngineModel(params: LoadEngineModelParams): Promise<EngineModel> {
  const {manifest} = await readManifest({dir: params.dir})
  const m = manifest.model
  const release = releaseFacts(manifest)
  const dims: EngineDims = {
    dModel: m.d_model,
    hiddenDim: release.hiddenDim,
    layers: m.num_layers,
    heads: release.numKvHeads,
    headDim: m.head_dim,
    latentDim: m.latent_dim,
    mimiInputDim: m.mimi_input_dim,
    frameSize: m.frame_size,
    sampleRate: m.sample_rate,
  }
  // checked before any session loads: an export whose state this runtime cannot chain is refused at once
  const flowLmState = flowLmStateTable(graphEntry(manifest, 'flow_lm_main'), dims)
  const files = Object.fromEntries(coreGraphs.map((name) => [name, graphEntry(manifest, name).file])) as Record<CoreGraph, string>
  const useWorker = params.mimiWorker === true
  const batched = params.batching === true && batchedGraphs(manifest, release) !== null
  const stepGraph = manifest.graphs[STEP_WITH_HEAD_GRAPH]
  // the batched graphs serve LSD heads, the combined step graph one-step heads: an export never uses both
  const useStepGraph = !batched && (params.stepWithHead ?? true) && stepGraph !== undefined && ONE_STEP_SAMPLERS.has(release.sampler.type)
  const mainThreads =
    params.threads ??
    mainThreadCount({
      cores: defaultThreads(),
      mimiWorkerThreads: useWorker ? MIMI_THREADS : 0,
      int8StepFp32Mimi: manifest.quantization !== undefined && manifest.quantization.graphs['mimi_decoder'] === undefined,
      stepBytes: batched ? null : useStepGraph ? stepGraph.size : graphEntry(manifest, 'flow_lm_main').size,
    })
  const sessionOptions = {threads: mainThreads, allowSpinning: ALLOW_SPINNING}
  const mimiStates = mimiStatesOf(graphEntry(manifest, 'mimi_decoder'))
  const {latent_to_mimi: latentToMimiFile, mimi_decoder: mimiDecoderFile, ...coreMainFiles} = files
  // graph name -> file of the main-thread sessions: the core ones, and when used the combined step graph in place
  // of flow_lm_main (it computes the same outputs and more: one copy of the FlowLM weights, see below); with
  // batching neither flow_lm_main nor flow_lm_flow (the batcher holds the one copy)
  const {flow_lm_main: mainFile, flow_lm_flow: flowFile, ...otherMainFiles} = coreMainFiles
  const mainFiles: Readonly<Record<string, string>> = batched
    ? otherMainFiles
    : useStepGraph
      ? {...otherMainFiles, flow_lm_flow: flowFile, [STEP_WITH_HEAD_GRAPH]: stepGraph.file}
      : {...otherMainFiles, flow_lm_flow: flowFile, flow_lm_main: mainFile}
  const loadMain = () =>
    createSessions({
      dir: params.dir,
      files: mainFiles,
      ...sessionOptions,
      threadsFor: {flow_lm_flow: FLOW_HEAD_THREADS},
    })
  const loadMimi = () =>
    useWorker
      ? Promise.resolve(undefined)
      : createSessions({
          dir: params.dir,
          files: {latent_to_mimi: latentToMimiFile, mimi_decoder: mimiDecoderFile},
          ...sessionOptions,
          noMemPattern: MIMI_NO_MEM_PATTERN,
        })
  const startWorker = () =>
    useWorker
      ? MimiDecodeWorker.start({
          dir: params.dir,
          files: {latent_to_mimi: latentToMimiFile, mimi_decoder: mimiDecoderFile},
          states: mimiStates,
          mimiInputDim: dims.mimiInputDim,
          latentDim: dims.latentDim,
          threads: MIMI_THREADS,
          allowSpinning: sessionOptions.allowSpinning,
          maxFrames: mimiMaxFrames(graphEntry(manifest, 'mimi_decoder')),
        })
      : Promise.resolve(undefined)
  // The three loads run side by side (the worker on the other core).
  const [mainLoad, mimiLoad, workerLoad] = await Promise.allSettled([loadMain(), loadMimi(), startWorker()])
  if (mainLoad.status === 'rejected' || mimiLoad.status === 'rejected' || workerLoad.status === 'rejected') {
    // release whatever did load, then report the first failure
    const loaded = [mainLoad, mimiLoad].flatMap((r) =>
      r.status === 'fulfilled' && r.value !== undefined ? Object.values<ort.InferenceSession>(r.value) : [],
    )
    await Promise.allSettled([
      ...loaded.map((s) => s.release()),
      ...(workerLoad.status === 'fulfilled' && workerLoad.value !== undefined ? [workerLoad.value.release()] : []),
    ])
    throw [mainLoad, mimiLoad, workerLoad].find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason
  }
  const {[STEP_WITH_HEAD_GRAPH]: stepWithHead, ...coreMain} = mainLoad.value
  // With the combined step graph, `flow_lm_main` calls (voice prefills, parity) run it too: flowLmStep feeds it a
  // zero noise and does not fetch the latent, so the FlowLM weights are loaded once.
  const mainSessions = (stepWithHead === undefined ? coreMain : {...coreMain, flow_lm_main: stepWithHead}) as Sessions<
    keyof typeof coreMainFiles
  >
  const mimiSessions = mimiLoad.value
  const mimiWorker = workerLoad.value
  const sessions = withoutSoloFlowLm(
    mimiSessions === undefined ? withMimiInWorker(mainSessions) : {...mainSessions, ...mimiSessions},
    batched,
  )
  const batcher = batched
    ? ((await openFlowLmBatcher({model: {dir: params.dir, dims, facts: release, flowLmState, threads: {main: mainThreads}}})) ?? undefined)
    : undefined
  const textConfig = textConfigFromManifest(manifest, params.dir)
  const loadTokenizer = textConfig.tokenizerKind === 'tokenizers' ? loadJsonTokenizer : loadSentencePieceTokenizer
  const tokenizer = await loadTokenizer({path: join(params.dir, manifest.tokenizer.path), expectedVocabSize: m.vocab_size})
  let encoder: Promise<ort.InferenceSession> | undefined
  return {
    dir: params.dir,
    generation: manifest.generation,
    dims,
    facts: release,
    sessions,
    ...(stepWithHead === undefined ? {} : {stepWithHead}),
    ...(mimiWorker === undefined ? {} : {mimiWorker}),
    ...(batcher === undefined ? {} : {batcher}),
    threads: {main: mainThreads, mimi: useWorker ? MIMI_THREADS : null},
    mimiMaxFrames: mimiMaxFrames(graphEntry(manifest, 'mimi_decoder')),
    kvCapacity: manifest.capacities.flow_kv_positions,
    flowLmState,
    mimiStates,
    text: {tokenizer, config: textConfig},
    voices: Object.fromEntries(
      manifest.voices
        .filter((v) => v.kind === 'kv_state')
        .map((v) => [v.path.replace(/^.*\//, '').replace(/\.safetensors$/, ''), join(params.dir, v.path)]),
    ),
    encoder() {
      encoder ??= createSessions({
        dir: params.dir,
        files: {mimi_encoder: graphEntry(manifest, 'mimi_encoder').file},
        ...sessionOptions,
      }).then((s) => s.mimi_encoder)
      return encoder
    },
    async release() {
      const own = [...Object.values<ort.InferenceSession>(mainLoad.value), ...Object.values<ort.InferenceSession>(mimiSessions ?? {})]
      await Promise.all([...own, ...(encoder === undefined ? [] : [await encoder])].map((s) => s.release()))
      await mimiWorker?.release()
      await batcher?.release()
    },
  }
}

/** The main-thread session record of a model whose Mimi graphs live in the worker: those two entries throw. */
function withMimiInWorker(main: Sessions<Exclude<CoreGraph, 'latent_to_mimi' | 'mimi_decoder'>>): Sessions<CoreGraph> {
  const inWorker = (graph: string): never => {
    throw new ModelError({
      code: 'MIMI_IN_WORKER',
      message: `The ${graph} session runs in the Mimi decoder worker of this model, not on the main thread.`,
      hint: 'Load the model without mimiWorker to drive the Mimi graphs directly (parity, golden replays).',
    })
  }
  const sessions = {...main} as Record<CoreGraph, ort.InferenceSession>
  Object.defineProperty(sessions, 'latent_to_mimi', {get: () => inWorker('latent_to_mimi'), enumerable: false})
  Object.defineProperty(sessions, 'mimi_decoder', {get: () => inWorker('mimi_decoder'), enumerable: false})
  return sessions
}

/** The session record (a fresh object, changed in place) of a model loaded for batching (`batched`): its solo FlowLM entries throw. */
function withoutSoloFlowLm(sessions: Sessions<CoreGraph>, batched: boolean): Sessions<CoreGraph> {
  if (!batched) return sessions
  const out = sessions as Record<CoreGraph, ort.InferenceSession>
  for (const graph of ['flow_lm_main', 'flow_lm_flow'] as const) {
    Object.defineProperty(out, graph, {
      get: (): never => {
        throw new ModelError({
          code: 'FLOW_LM_BATCHED',
          message: `This model was loaded for batching: ${graph} is not loaded, its FlowLM calls run through the batched graphs.`,
          hint: "Pass the model's batcher (EngineModel.batcher) to the generation, or load the model without batching.",
        })
      },
      enumerable: false,
    })
  }
  return out
}

/** Frames one mimi_decoder call may take: `n_frames` exports any (the engine sends 2), older ones exactly one. */
function mimiMaxFrames(graph: GraphEntry): number {
  const frames = graph.inputs.find((i) => i.name === 'mimi_input')?.shape[2]
  return typeof frames === 'number' ? frames : 16
}

function mimiStatesOf(graph: GraphEntry): ChainedState[] {
  return graph.state.map((link) => {
    const spec = graph.inputs.find((i) => i.name === link.input)
    if (spec === undefined || spec.shape.some((d) => typeof d !== 'number')) {
      throw new ModelError({
        code: 'MANIFEST_INVALID',
        message: `mimi_decoder state ${link.input} has no fixed shape in the manifest.`,
        hint: 'Export the model again.',
      })
    }
    return {
      input: link.input,
      output: link.output,
      dtype: spec.dtype,
      shape: spec.shape as number[],
      init: link.init === 'ones' ? 'ones' : 'zeros',
    }
  })
}
