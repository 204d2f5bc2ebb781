import type {InferenceSession} from 'onnxruntime-node'
import type {GraphEntry, TensorContract} from './manifest-types.js'

/** What differs between a loaded graph's inputs/outputs and the manifest's contract (empty when they agree). */
export function checkContract(session: InferenceSession, entry: GraphEntry): string[] {
  return [...compareSide('input', entry.inputs, session.inputMetadata), ...compareSide('output', entry.outputs, session.outputMetadata)]
}

function compareSide(side: string, contract: readonly TensorContract[], actual: readonly InferenceSession.ValueMetadata[]): string[] {
  const problems: string[] = []
  const byName = new Map(actual.map((m) => [m.name, m]))
  const expected = new Set(contract.map((t) => t.name))
  for (const name of byName.keys()) if (!expected.has(name)) problems.push(`graph has ${side} ${name}, the manifest does not`)
  for (const tensor of contract) {
    const meta = byName.get(tensor.name)
    if (meta === undefined) {
      problems.push(`graph lacks ${side} ${tensor.name}`)
      continue
    }
    if (!meta.isTensor) {
      problems.push(`${side} ${tensor.name} is not a tensor`)
      continue
    }
    if (meta.type !== tensor.dtype) problems.push(`${side} ${tensor.name} is ${meta.type}, the manifest says ${tensor.dtype}`)
    const shape = meta.shape
    if (shape.length !== tensor.shape.length) {
      problems.push(`${side} ${tensor.name} has rank ${shape.length}, the manifest says ${tensor.shape.length}`)
      continue
    }
    tensor.shape.forEach((dim, axis) => {
      const got = shape[axis]
      if (got !== dim) {
        problems.push(`${side} ${tensor.name} axis ${axis} is ${String(got)}, the manifest says ${String(dim)}`)
      }
    })
  }
  return problems
}
