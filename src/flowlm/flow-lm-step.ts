import type * as ort from 'onnxruntime-node'
import {ModelError, UsageError} from '../errors/index.js'
import {runGraph} from '../onnx/run-graph.js'
import {f32, floats, i64, int} from '../onnx/tensors.js'
import type {FlowLmStateTable} from './flow-lm-state.js'
import type {KvCache} from './kv-cache.js'

export interface FlowLmStepParams {
  readonly session: ort.InferenceSession
  readonly kv: KvCache
  /** How the cache feeds the graph and the graph extends it (the manifest's state table, see flowLmStateTable). */
  readonly state: FlowLmStateTable
  readonly dModel: number
  readonly latentDim: number
  /** Conditioning positions (text embeddings or voice conditioning), [n, dModel] flattened; empty for an AR step. */
  readonly conditioning?: Float32Array
  /** One latent for an AR step (null = the latent BOS); undefined for a prefill. */
  readonly latent?: Float32Array | null
  /** Also fetch each transformer layer's output at the last position (parity). */
  readonly withLayers?: boolean
  /**
   * The step's noise, for the combined step graph (`flow_lm_main_flow`, whose session this then is): the call
   * also samples the latent with the one-step head. Undefined for a plain call: the combined graph then gets a
   * zero noise and its latent is not fetched (prefills through it).
   */
  readonly noise?: Float32Array
}

export interface FlowLmStepResult {
  /** out_norm output at the last new position [dModel]. */
  readonly hidden: Float32Array
  /** Raw EOS logit (EOS when > eos_threshold). */
  readonly eosLogit: number
  /** Each layer's output at the last position, [layers * dModel], when asked for. */
  readonly layerOut?: Float32Array
  /** The sampled latent [latentDim], when the call was given the step's noise (combined step graph). */
  readonly latent?: Float32Array
}

/**
 * One `flow_lm_main` call (voice prefill, text prefill or one AR step): feeds the cache through the state
 * table's links, appends the new K/V to it, and checks the position count the graph returns against it.
 */
export async function flowLmStep(params: FlowLmStepParams): Promise<FlowLmStepResult> {
  const {dModel, latentDim, kv, state} = params
  const conditioning = params.conditioning ?? new Float32Array(0)
  const latents = params.latent === undefined ? new Float32Array(0) : (params.latent ?? new Float32Array(latentDim).fill(Number.NaN))
  const positions = kv.offset + conditioning.length / dModel + latents.length / latentDim
  if (state.maxPositions !== undefined && positions > state.maxPositions) {
    throw new UsageError({
      code: 'FLOW_POSITIONS_EXCEEDED',
      message:
        `This FlowLM call would reach position ${positions}; the model's flow_lm_main covers ${state.maxPositions} ` +
        '(manifest graphs.flow_lm_main.capacities.max_positions, the length of its RoPE table).',
      hint: 'Use a shorter voice prompt or split the text into shorter sentences.',
      details: {positions, maxPositions: state.maxPositions},
    })
  }
  const sampled = params.noise !== undefined
  const fetches = [
    'hidden',
    'eos_logit',
    state.kvOutput,
    state.offset.output,
    ...(params.withLayers === true ? ['layer_out'] : []),
    ...(sampled ? ['latent'] : []),
  ]
  const out = await runGraph(
    sampled ? 'flow_lm_main_flow' : 'flow_lm_main',
    params.session,
    {
      ...(params.noise !== undefined
        ? {noise: f32(params.noise, [1, params.noise.length])}
        : params.session.inputNames.includes('noise')
          ? {noise: f32(new Float32Array(latentDim), [1, latentDim])}
          : {}),
      conditioning: f32(conditioning, [1, conditioning.length / dModel, dModel]),
      latents: f32(latents, [1, latents.length / latentDim, latentDim]),
      // each past input is a view of its buffer, as the state table links them (an empty past: the stand-in rows)
      ...kv.feeds(state.kvInputs, state.minPastRows),
      [state.offset.input]: i64([kv.offset]),
    },
    fetches,
  )
  kv.append(floats(out[state.kvOutput], state.kvOutput))
  const returned = int(out[state.offset.output], state.offset.output)
  if (returned !== kv.offset) {
    throw new ModelError({
      code: 'STATE_MISMATCH',
      message: `flow_lm_main returned ${state.offset.output} ${returned}, but the KV cache holds ${kv.offset} positions after the call.`,
      hint: 'The graph and its manifest disagree: export the model again, or run `pockettts model verify DIR`.',
    })
  }
  const hidden = floats(out['hidden'], 'hidden')
  return {
    hidden,
    eosLogit: floats(out['eos_logit'], 'eos_logit')[0] ?? Number.NaN,
    ...(params.withLayers === true ? {layerOut: floats(out['layer_out'], 'layer_out')} : {}),
    ...(sampled ? {latent: Float32Array.from(floats(out['latent'], 'latent'))} : {}),
  }
}
