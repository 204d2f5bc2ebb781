import type {Tolerance} from './manifest-types.js'
import type {NpyTensor} from './npy-tensor.js'

export interface CompareTensorParams {
  readonly actual: {readonly type: string; readonly dims: readonly number[]; readonly data: unknown}
  readonly expected: NpyTensor
  readonly tolerance: Tolerance
}

export interface CompareTensorResult {
  /** Largest |actual - expected| (Infinity on a shape or dtype mismatch, NaN when a NaN appears). */
  readonly maxAbs: number
  readonly passed: boolean
  /** Why it failed, when it did. */
  readonly reason?: string
}

/** `|actual - expected| <= atol + rtol * |expected|` everywhere; integers and booleans must be equal. */
export function compareTensor(params: CompareTensorParams): CompareTensorResult {
  const {actual, expected, tolerance} = params
  const shapeOf = (dims: readonly number[]): string => `[${dims.join(', ')}]`
  if (actual.type !== expected.dtype) return {maxAbs: Infinity, passed: false, reason: `dtype ${actual.type}, expected ${expected.dtype}`}
  if (shapeOf(actual.dims) !== shapeOf(expected.shape)) {
    return {maxAbs: Infinity, passed: false, reason: `shape ${shapeOf(actual.dims)}, expected ${shapeOf(expected.shape)}`}
  }
  const a = actual.data as ArrayLike<number | bigint>
  const e = expected.data as ArrayLike<number | bigint>
  let maxAbs = 0
  let passed = true
  for (let i = 0; i < e.length; i += 1) {
    const diff = Math.abs(Number(a[i]) - Number(e[i]))
    if (Number.isNaN(diff)) return {maxAbs: NaN, passed: false, reason: `NaN at flat index ${i}`}
    if (diff > maxAbs) maxAbs = diff
    if (diff > tolerance.atol + tolerance.rtol * Math.abs(Number(e[i]))) passed = false
  }
  return passed ? {maxAbs, passed} : {maxAbs, passed, reason: `max abs ${maxAbs.toExponential(2)} beyond atol ${tolerance.atol} + rtol ${tolerance.rtol}`}
}
