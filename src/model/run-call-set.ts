import type {InferenceSession, Tensor} from 'onnxruntime-node'
import type {GoldenCall, TensorSource} from '../golden/index.js'
import {fromNpy} from '../onnx/tensors.js'
import {compareTensors, elementwise, type NpyTensor} from '../tensor/index.js'
import type {GraphEntry, RecordedTolerance} from './manifest-types.js'

export interface RunCallSetParams {
  /** The export's embedded golden, holding the calls' tensors. */
  readonly golden: TensorSource
  /** The graph's recorded calls (`calls[graph]` of the golden's manifest). */
  readonly calls: readonly GoldenCall[]
  readonly session: InferenceSession
  readonly entry: GraphEntry
  readonly signal?: AbortSignal
}

export interface CallSetResult {
  readonly passed: boolean
  readonly calls: number
  /** Output name -> the largest |actual - expected| over the calls. */
  readonly maxAbs: Readonly<Record<string, number>>
  /** One line per failure, e.g. `ar_step_1 hidden: max abs 3e-2 beyond ...`. */
  readonly failures: readonly string[]
}

/** Replays a graph's recorded calls (upstream's inputs, upstream's outputs) within the graph's recorded tolerance. */
export async function runCallSet(params: RunCallSetParams): Promise<CallSetResult> {
  const {golden, calls, session, entry} = params
  const maxAbs: Record<string, number> = {}
  const failures: string[] = []
  if (calls.length === 0) failures.push(`the golden ${golden.dir} holds no calls of this graph`)
  const inputNames = new Set(entry.inputs.map((t) => t.name))
  const outputNamesKnown = new Set(entry.outputs.map((t) => t.name))
  for (const call of calls) {
    params.signal?.throwIfAborted()
    const unknown = [
      ...Object.keys(call.inputs).filter((n) => !inputNames.has(n)),
      ...Object.keys(call.outputs).filter((n) => !outputNamesKnown.has(n)),
    ]
    if (unknown.length > 0) {
      failures.push(`${call.name}: names ${unknown.join(', ')}, which the graph does not have`)
      continue
    }
    const outputNames = Object.keys(call.outputs)
    let feeds: Record<string, Tensor>
    let expected: NpyTensor[]
    try {
      feeds = {}
      for (const [name, tensor] of Object.entries(call.inputs)) feeds[name] = fromNpy(await golden.tensor(tensor))
      expected = await Promise.all(outputNames.map((name) => golden.tensor(call.outputs[name] ?? '')))
    } catch (error) {
      failures.push(`${call.name}: cannot read the recorded call: ${firstLine(error)}`)
      continue
    }
    let actual: InferenceSession.OnnxValueMapType
    try {
      actual = await session.run(feeds, outputNames)
    } catch (error) {
      failures.push(`${call.name}: the graph failed to run: ${firstLine(error)}`)
      continue
    }
    outputNames.forEach((name, i) => {
      const recorded: RecordedTolerance = entry.check.tolerance[name] ?? entry.check.tolerance['default'] ?? {atol: 0, rtol: 0}
      const output = actual[name] as Tensor
      const result = compareTensors(
        {dtype: output.type, shape: output.dims, data: output.data as NpyTensor['data']},
        expected[i]!,
        elementwise(recorded),
      )
      maxAbs[name] = Math.max(maxAbs[name] ?? 0, result.metrics.maxAbs)
      if (!result.passed) failures.push(`${call.name} ${name}: ${result.reason ?? 'differs'}`)
    })
  }
  return {passed: failures.length === 0, calls: calls.length, maxAbs, failures}
}

export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.split('\n')[0] ?? message
}
