import {join} from 'node:path'
import type {InferenceSession, Tensor} from 'onnxruntime-node'
import {fromNpy} from '../onnx/tensors.js'
import {compareTensors, elementwise, readNpy, type NpyTensor} from '../tensor/index.js'
import type {GraphEntry, RecordedTolerance} from './manifest-types.js'

export interface RunCheckCasesParams {
  readonly dir: string
  readonly session: InferenceSession
  readonly entry: GraphEntry
  readonly signal?: AbortSignal
}

export interface CheckCasesResult {
  readonly passed: boolean
  readonly cases: number
  /** Output name -> the largest |actual - expected| over the cases. */
  readonly maxAbs: Readonly<Record<string, number>>
  /** One line per failure, e.g. `ar_step_1 hidden: max abs 3e-2 beyond ...`. */
  readonly failures: readonly string[]
}

/** Replays the graph's check set (inputs and upstream's expected outputs as .npy) within the recorded tolerance. */
export async function runCheckCases(params: RunCheckCasesParams): Promise<CheckCasesResult> {
  const {dir, session, entry} = params
  const maxAbs: Record<string, number> = {}
  const failures: string[] = []
  const cases = entry.check.cases
  if (cases.length === 0) failures.push('the manifest lists no check cases')
  for (const check of cases) {
    params.signal?.throwIfAborted()
    let feeds: Record<string, Tensor>
    let expected: NpyTensor[]
    const outputNames = Object.keys(check.outputs)
    try {
      feeds = {}
      for (const [name, file] of Object.entries(check.inputs)) feeds[name] = fromNpy(await readNpy(join(dir, file)))
      expected = await Promise.all(outputNames.map((name) => readNpy(join(dir, check.outputs[name] ?? ''))))
    } catch (error) {
      failures.push(`${check.name}: cannot read the check set: ${(error as Error).message}`)
      continue
    }
    let actual: InferenceSession.OnnxValueMapType
    try {
      actual = await session.run(feeds, outputNames)
    } catch (error) {
      failures.push(`${check.name}: the graph failed to run: ${firstLine(error)}`)
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
      if (!result.passed) failures.push(`${check.name} ${name}: ${result.reason ?? 'differs'}`)
    })
  }
  return {passed: failures.length === 0, cases: cases.length, maxAbs, failures}
}

export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.split('\n')[0] ?? message
}
