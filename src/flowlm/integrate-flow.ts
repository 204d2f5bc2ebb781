import type * as ort from 'onnxruntime-node'
import {runGraph} from '../onnx/run-graph.js'
import {f32, floats} from '../onnx/tensors.js'

export interface IntegrateFlowParams {
  /** The `flow_lm_flow` session (a head returning `flow_dir`). */
  readonly session: ort.InferenceSession
  /** flow_lm_main hidden [hiddenDim]. */
  readonly hidden: Float32Array
  /** x_0: the step's noise, already scaled by the temperature [latentDim]. */
  readonly noise: Float32Array
  /** K: head evaluations. */
  readonly steps: number
  /** The head's time inputs at evaluation i of K (LSD: s and t; flow matching: t). */
  readonly times: (i: number, steps: number) => Record<string, number>
}

/**
 * Euler integration of the head's flow, as upstream's decoders do: x = noise; for i in 0..K-1:
 * x += flow(hidden, times(i), x) / K, each operation rounded to float32 as torch does.
 */
export async function integrateFlow(params: IntegrateFlowParams): Promise<Float32Array> {
  const {steps, hidden, session} = params
  const x = Float32Array.from(params.noise)
  const hiddenTensor = f32(hidden, [1, hidden.length])
  for (let i = 0; i < steps; i += 1) {
    const times = Object.fromEntries(Object.entries(params.times(i, steps)).map(([name, v]) => [name, f32(Float32Array.of(v), [1, 1])]))
    const out = await runGraph('flow_lm_flow', session, {hidden: hiddenTensor, ...times, x: f32(Float32Array.from(x), [1, x.length])})
    const dir = floats(out['flow_dir'], 'flow_dir')
    for (let j = 0; j < x.length; j += 1) x[j] = Math.fround((x[j] ?? 0) + Math.fround((dir[j] ?? 0) / steps))
  }
  return x
}
