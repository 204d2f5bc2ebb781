import type * as ort from 'onnxruntime-node'
import {integrateFlow} from './integrate-flow.js'

export interface LsdDecodeParams {
  readonly session: ort.InferenceSession
  /** flow_lm_main hidden [dModel]. */
  readonly hidden: Float32Array
  /** The step's noise (x_0), already scaled by the temperature [latentDim]. */
  readonly noise: Float32Array
  /** K, upstream `lsd_decode_steps`. */
  readonly steps: number
}

/**
 * Upstream `lsd_decode`: x = noise; for i in 0..K-1: x += flow(hidden, s=i/K, t=(i+1)/K, x) / K.
 * Arithmetic is rounded to float32 at each operation, as torch does.
 */
export function lsdDecode(params: LsdDecodeParams): Promise<Float32Array> {
  return integrateFlow({...params, times: (i, k) => ({s: i / k, t: (i + 1) / k})})
}
