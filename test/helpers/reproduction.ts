import {readFile} from 'node:fs/promises'
import {extname} from 'node:path'
import {readSafetensors} from '../../src/safetensors/index.js'
import {compareTensors, elementwise, readNpy, type ComparableTensor} from '../../src/tensor/index.js'

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

/** safetensors dtype names as the tensor module's (F16/BF16 hold raw bit patterns: compared exactly). */
const SAFETENSORS_AS: Readonly<Record<string, string>> = {
  F32: 'float32',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
}

function compareOne(name: string, ours: ComparableTensor, committed: ComparableTensor, problems: string[]): number {
  const result = compareTensors(ours, committed, elementwise(CROSS_CPU))
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
    maxAbs = compareOne(name, await readNpy(ours), await readNpy(committed), problems)
  } else if (ext === '.safetensors') {
    const [mine, theirs] = await Promise.all([readSafetensors({path: ours}), readSafetensors({path: committed})])
    const keys = [...theirs.tensors.keys()].sort()
    if ([...mine.tensors.keys()].sort().join('\n') !== keys.join('\n')) problems.push(`${name}: other tensor names`)
    if (JSON.stringify(mine.metadata) !== JSON.stringify(theirs.metadata)) problems.push(`${name}: other metadata`)
    for (const key of keys) {
      const tensor = mine.tensors.get(key)
      const other = theirs.tensors.get(key)!
      const as = (t: typeof other): ComparableTensor => ({dtype: SAFETENSORS_AS[t.dtype] ?? t.dtype, shape: t.shape, data: t.data})
      if (tensor !== undefined) maxAbs = Math.max(maxAbs, compareOne(`${name} ${key}`, as(tensor), as(other), problems))
    }
  } else {
    problems.push(`${name}: bytes differ (not a tensor file, so it must be equal)`)
  }
  return {identical: false, maxAbs, problems}
}

/** compareReproduced over several files; prints byte identity as information and returns every problem. */
export async function reproductionProblems(
  pairs: ReadonlyArray<readonly [ours: string, committed: string, name: string]>,
): Promise<string[]> {
  const problems: string[] = []
  let identical = 0
  let maxAbs = 0
  for (const [ours, committed, name] of pairs) {
    const r = await compareReproduced(ours, committed, name)
    if (r.identical) identical += 1
    maxAbs = Math.max(maxAbs, r.maxAbs)
    problems.push(...r.problems)
  }
  console.info(
    `reproduction: ${identical}/${pairs.length} files byte-identical (same CPU type only), largest float difference ${maxAbs.toExponential(2)}`,
  )
  return problems
}
