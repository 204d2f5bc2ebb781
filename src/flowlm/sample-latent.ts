import type * as ort from 'onnxruntime-node'
import type {SamplerType} from '../model/release-facts.js'
import {runGraph} from '../onnx/run-graph.js'
import {f32, floats} from '../onnx/tensors.js'
import {integrateFlow} from './integrate-flow.js'
import {lsdDecode} from './lsd-decode.js'

export interface SampleLatentParams {
  /** The `flow_lm_flow` session (the sampler head). */
  readonly session: ort.InferenceSession
  /** The export's sampler head (manifest model.sampler.type). */
  readonly sampler: SamplerType
  /** flow_lm_main hidden [dModel]. */
  readonly hidden: Float32Array
  /** The step's noise, already scaled by the temperature (and clamped) [latentDim]. */
  readonly noise: Float32Array
  /** Head evaluations per latent (LSD, flow matching; one-step heads ignore it). */
  readonly steps: number
}

/**
 * Upstream 4.x's sampler dispatch (`FlowLMModel` by `flow.type`): LSD integrates the head's flow from the noise;
 * flow matching (upstream `ot_decode`) takes Euler steps at t = i/K (its graph has no `s` input); the one-step heads (`drifting`: the sample
 * itself; `pointwise`: noise plus the head's output, added inside the graph) are one `flow_lm_flow` call
 * taking `hidden` and `noise` and returning `latent`.
 */
export async function sampleLatent(params: SampleLatentParams): Promise<Float32Array> {
  const {session, hidden, noise, steps} = params
  switch (params.sampler) {
    case 'lsd':
      return lsdDecode({session, hidden, noise, steps})
    case 'flow_matching':
      return otDecode(params)
    case 'drifting':
    case 'pointwise': {
      const out = await runGraph('flow_lm_flow', session, {hidden: f32(hidden, [1, hidden.length]), noise: f32(noise, [1, noise.length])})
      return Float32Array.from(floats(out['latent'], 'latent'))
    }
  }
}

/** Upstream `ot_decode`: x = noise; for i in 0..K-1: x += flow(hidden, t=i/K, x) / K. */
function otDecode(params: SampleLatentParams): Promise<Float32Array> {
  const {session, hidden, noise, steps} = params
  return integrateFlow({session, hidden, noise, steps, times: (i, k) => ({t: i / k})})
}
