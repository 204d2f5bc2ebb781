import type * as ort from 'onnxruntime-node'
import {runGraph} from '../onnx/run-graph.js'
import {f32, floats, i64} from '../onnx/tensors.js'
import type {KvCache} from './kv-cache.js'

export interface FlowLmStepParams {
  readonly session: ort.InferenceSession
  readonly kv: KvCache
  readonly dModel: number
  readonly latentDim: number
  /** Conditioning positions (text embeddings or voice conditioning), [n, dModel] flattened; empty for an AR step. */
  readonly conditioning?: Float32Array
  /** One latent for an AR step (null = the latent BOS); undefined for a prefill. */
  readonly latent?: Float32Array | null
  /** Also fetch each transformer layer's output at the last position (parity). */
  readonly withLayers?: boolean
}

export interface FlowLmStepResult {
  /** out_norm output at the last new position [dModel]. */
  readonly hidden: Float32Array
  /** Raw EOS logit (EOS when > eos_threshold). */
  readonly eosLogit: number
  /** Each layer's output at the last position, [layers * dModel], when asked for. */
  readonly layerOut?: Float32Array
}

const onePastTensor = new WeakMap<ort.InferenceSession, boolean>()

/** Whether the graph is an older export whose flow_lm_main takes the whole cache as one `past_kv` input. */
function takesOnePastTensor(session: ort.InferenceSession): boolean {
  let known = onePastTensor.get(session)
  if (known === undefined) {
    known = session.inputNames.includes('past_kv')
    onePastTensor.set(session, known)
  }
  return known
}

/** One `flow_lm_main` call (voice prefill, text prefill or one AR step); appends the new K/V to the cache. */
export async function flowLmStep(params: FlowLmStepParams): Promise<FlowLmStepResult> {
  const {dModel, latentDim, kv} = params
  const conditioning = params.conditioning ?? new Float32Array(0)
  const latents = params.latent === undefined ? new Float32Array(0) : (params.latent ?? new Float32Array(latentDim).fill(Number.NaN))
  const fetches = ['hidden', 'eos_logit', 'new_kv', ...(params.withLayers === true ? ['layer_out'] : [])]
  const out = await runGraph(
    'flow_lm_main',
    params.session,
    {
      conditioning: f32(conditioning, [1, conditioning.length / dModel, dModel]),
      latents: f32(latents, [1, latents.length / latentDim, latentDim]),
      // per-layer past inputs (views of the cache); exports made before them take one time-major past_kv
      ...(takesOnePastTensor(params.session) ? {past_kv: kv.past()} : kv.layerFeeds()),
      offset: i64([kv.offset]),
    },
    fetches,
  )
  kv.append(floats(out['new_kv'], 'new_kv'))
  const hidden = floats(out['hidden'], 'hidden')
  return {
    hidden,
    eosLogit: floats(out['eos_logit'], 'eos_logit')[0] ?? Number.NaN,
    ...(params.withLayers === true ? {layerOut: floats(out['layer_out'], 'layer_out')} : {}),
  }
}
