import {ModelError} from '../errors/index.js'
import {FlowLmBatcher} from '../flowlm/flow-lm-batcher.js'
import type {KvLayout} from '../flowlm/kv-cache.js'
import type {ExportManifest, GraphEntry} from '../model/manifest-types.js'
import {readManifest} from '../model/read-manifest.js'
import type {ReleaseFacts} from '../model/release-facts.js'
import {createSessions} from '../onnx/create-sessions.js'
import type {FlowLmStateTable} from '../flowlm/flow-lm-state.js'

/** The optional serving graphs of an export (scripts/pockettts_tools/batched_graphs.py). */
export const BATCHED_GRAPHS = {step: 'flow_lm_step_batched', flow: 'flow_lm_flow_batched'} as const

/** What the batcher needs of a loaded model (an EngineModel has it; loadEngineModel passes it before it has one). */
export interface BatcherModel {
  readonly dir: string
  readonly dims: KvLayout & {readonly dModel: number; readonly latentDim: number}
  readonly facts: Pick<ReleaseFacts, 'sampler'>
  readonly flowLmState: FlowLmStateTable
  readonly threads: {readonly main: number}
}

export interface OpenBatcherParams {
  readonly model: BatcherModel
  /** See FlowLmBatcherParams.waitMs. */
  readonly waitMs?: number
}

/**
 * The batched-step scheduler of a loaded model, or null when its export has no batched graphs (an export made
 * without `model export --batched`), has a one-step sampler head, or is an int8 export (its batched graphs are not
 * quantised yet): the server then interleaves solo generations as before.
 */
export async function openFlowLmBatcher(params: OpenBatcherParams): Promise<FlowLmBatcher | null> {
  const {model} = params
  const {manifest} = await readManifest({dir: model.dir})
  const graphs = batchedGraphs(manifest, model.facts)
  if (graphs === null) return null
  const {step, flow} = graphs
  const layout = stepLayout(step, model)
  const links = model.flowLmState.kvInputs
  const inputs = new Set(step.inputs.map((i) => i.name))
  const missing = links.find((l) => !inputs.has(l.input))
  if (missing !== undefined) throw batchedError(`has no input ${missing.input} (flow_lm_main's past input of layer ${missing.layer})`)
  const sessions = await createSessions({
    dir: model.dir,
    files: {step: step.file, flow: flow.file},
    threads: model.threads.main,
    allowSpinning: false,
  })
  return new FlowLmBatcher({
    sessions,
    links,
    layout,
    dModel: model.dims.dModel,
    latentDim: model.dims.latentDim,
    ...(params.waitMs === undefined ? {} : {waitMs: params.waitMs}),
  })
}

/** The export's batched graphs when a batching server can use them, else null (see openFlowLmBatcher). */
export function batchedGraphs(
  manifest: ExportManifest,
  facts: Pick<ReleaseFacts, 'sampler'>,
): {readonly step: GraphEntry; readonly flow: GraphEntry} | null {
  const step = manifest.graphs[BATCHED_GRAPHS.step]
  const flow = manifest.graphs[BATCHED_GRAPHS.flow]
  if (step === undefined || flow === undefined) return null
  // the batched flow head is LSD's (s, t, x); one-step heads are exported without batched graphs
  if (facts.sampler.type !== 'lsd') return null
  // --int8 quantises flow_lm_main only: batched fp32 steps would neither match its solo runs nor be faster
  if (manifest.quantization !== undefined) return null
  // exports before the packed rows (one AR step per row) cannot run prefills as rows: export again
  if (!step.inputs.some((i) => i.name === 'row_lens')) throw batchedError('has no row_lens input (an export older than prefill rows)')
  return {step, flow}
}

/** The cache layout the step graph takes: heads from its past input (the KV heads, fewer than the query heads with GQA). */
function stepLayout(step: GraphEntry, model: Pick<BatcherModel, 'dims'>): KvLayout {
  const past = step.inputs.find((i) => i.name.startsWith('past_k.'))
  const heads = past?.shape[2]
  const headDim = past?.shape[3]
  if (typeof heads !== 'number' || typeof headDim !== 'number')
    throw batchedError('has no past_k input of shape [batch, past_len, heads, head_dim]')
  if (heads !== model.dims.heads || headDim !== model.dims.headDim) {
    throw batchedError(`caches ${heads} x ${headDim} per position, flow_lm_main ${model.dims.heads} x ${model.dims.headDim}`)
  }
  return {layers: model.dims.layers, heads, headDim}
}

function batchedError(what: string): ModelError {
  return new ModelError({
    code: 'STATE_TABLE_UNSUPPORTED',
    message: `${BATCHED_GRAPHS.step} ${what}.`,
    hint: 'Export the model again with this version of pockettts (pockettts model export).',
  })
}
