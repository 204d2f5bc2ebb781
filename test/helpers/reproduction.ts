import {readFile} from 'node:fs/promises'
import {extname} from 'node:path'
import {readNpy} from '../../src/model/npy-tensor.js'
import {tensorMetrics} from '../../src/parity/tensor-metrics.js'
import {readSafetensors} from '../../src/safetensors/index.js'

/** test/cross-cpu-tolerance.json: how far a remade float file may be from the committed one on another CPU type. */
export const CROSS_CPU: {readonly atol: number; readonly rtol: number} = JSON.parse(
  await readFile(new URL('../cross-cpu-tolerance.json', import.meta.url), 'utf8'),
) as {atol: number; rtol: number}

export interface Reproduction {
  /** Same bytes: information only (holds on the CPU type that recorded the file). */
  readonly identical: boolean
  /** Largest float difference seen. */
  readonly maxAbs: number
  /** What is beyond the cross-CPU tolerance or not equal where it must be. */
  readonly problems: readonly string[]
}

interface Tensor {
  readonly dtype: string
  readonly shape: readonly number[]
  readonly data: ArrayLike<number | bigint>
}

const FLOAT = new Set(['float32', 'F32', 'F64'])

function compareTensors(name: string, ours: Tensor, committed: Tensor, problems: string[]): number {
  if (ours.dtype !== committed.dtype || ours.shape.join(',') !== committed.shape.join(',')) {
    problems.push(`${name}: ${ours.dtype}[${ours.shape.join(', ')}] vs ${committed.dtype}[${committed.shape.join(', ')}]`)
    return Infinity
  }
  if (!FLOAT.has(committed.dtype)) {
    const a = Array.from(ours.data, String)
    const b = Array.from(committed.data, String)
    if (a.join(',') !== b.join(',')) problems.push(`${name}: integers differ`)
    return 0
  }
  const tolerance = {atol: CROSS_CPU.atol, rtol: CROSS_CPU.rtol, minSnrDb: null, minCosine: null}
  const result = tensorMetrics(ours.data as ArrayLike<number>, committed.data as ArrayLike<number>, tolerance)
  if (!result.passed) problems.push(`${name}: ${result.reason ?? 'beyond the cross-CPU tolerance'}`)
  return result.metrics.maxAbs
}

/** Compares a file the tooling made again with the committed one: tensors within the cross-CPU tolerance, the rest equal. */
export async function compareReproduced(ours: string, committed: string, name = committed): Promise<Reproduction> {
  const [a, b] = await Promise.all([readFile(ours), readFile(committed)])
  if (a.equals(b)) return {identical: true, maxAbs: 0, problems: []}
  const problems: string[] = []
  let maxAbs = 0
  const ext = extname(committed)
  if (ext === '.npy') {
    maxAbs = compareTensors(name, await readNpy(ours), await readNpy(committed), problems)
  } else if (ext === '.safetensors') {
    const [mine, theirs] = await Promise.all([readSafetensors({path: ours}), readSafetensors({path: committed})])
    const keys = [...theirs.tensors.keys()].sort()
    if ([...mine.tensors.keys()].sort().join('\n') !== keys.join('\n')) problems.push(`${name}: other tensor names`)
    if (JSON.stringify(mine.metadata) !== JSON.stringify(theirs.metadata)) problems.push(`${name}: other metadata`)
    for (const key of keys) {
      const tensor = mine.tensors.get(key)
      if (tensor !== undefined) maxAbs = Math.max(maxAbs, compareTensors(`${name} ${key}`, tensor, theirs.tensors.get(key)!, problems))
    }
  } else {
    problems.push(`${name}: bytes differ (not a tensor file, so it must be equal)`)
  }
  return {identical: false, maxAbs, problems}
}

/** compareReproduced over several files; prints byte identity as information and returns every problem. */
export async function reproductionProblems(pairs: ReadonlyArray<readonly [ours: string, committed: string, name: string]>): Promise<string[]> {
  const problems: string[] = []
  let identical = 0
  let maxAbs = 0
  for (const [ours, committed, name] of pairs) {
    const r = await compareReproduced(ours, committed, name)
    if (r.identical) identical += 1
    maxAbs = Math.max(maxAbs, r.maxAbs)
    problems.push(...r.problems)
  }
  console.info(`reproduction: ${identical}/${pairs.length} files byte-identical (same CPU type only), largest float difference ${maxAbs.toExponential(2)}`)
  return problems
}
