import type * as ort from 'onnxruntime-node'
import {runGraph} from '../onnx/run-graph.js'
import {f32, floats} from '../onnx/tensors.js'

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
export async function lsdDecode(params: LsdDecodeParams): Promise<Float32Array> {
  const {steps, hidden, session} = params
  const x = Float32Array.from(params.noise)
  const hiddenTensor = f32(hidden, [1, hidden.length])
  for (let i = 0; i < steps; i += 1) {
    const out = await runGraph('flow_lm_flow', session, {
      hidden: hiddenTensor,
      s: f32(Float32Array.of(i / steps), [1, 1]),
      t: f32(Float32Array.of((i + 1) / steps), [1, 1]),
      x: f32(Float32Array.from(x), [1, x.length]),
    })
    const dir = floats(out['flow_dir'], 'flow_dir')
    for (let j = 0; j < x.length; j += 1) x[j] = Math.fround((x[j] ?? 0) + Math.fround((dir[j] ?? 0) / steps))
  }
  return x
}
