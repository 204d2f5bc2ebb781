import {EXACT, type Tolerance} from './tolerance.js'
import {tensorMetrics, type MetricsResult, type TensorMetrics} from './tensor-metrics.js'

/** What compareTensors reads of a tensor: an NpyTensor, a golden tensor, or an onnxruntime Tensor's fields. */
export interface ComparableTensor {
  readonly dtype: string
  readonly shape: readonly number[]
  readonly data: ArrayLike<number | bigint>
}

const FLOAT_DTYPES = new Set(['float32', 'float64', 'float16'])

const UNCOMPARABLE: TensorMetrics = {
  elements: 0,
  maxAbs: Infinity,
  maxAbsIndex: -1,
  rmsError: Infinity,
  maxRel: Infinity,
  cosine: 0,
  snrDb: -999,
  nonFiniteMismatches: 0,
  score: Infinity,
  scoreIndex: -1,
}

/**
 * The one comparison of pockettts (model verify, parity, the reproduction tests): dtype and shape must be equal,
 * integers and booleans exactly, floats within `tolerance` (see tensorMetrics).
 */
export function compareTensors(actual: ComparableTensor, expected: ComparableTensor, tolerance: Tolerance): MetricsResult {
  if (actual.dtype !== expected.dtype)
    return {metrics: UNCOMPARABLE, passed: false, reason: `dtype ${actual.dtype}, expected ${expected.dtype}`}
  const shape = (s: readonly number[]): string => `[${s.join(', ')}]`
  if (shape(actual.shape) !== shape(expected.shape)) {
    return {metrics: UNCOMPARABLE, passed: false, reason: `shape ${shape(actual.shape)}, expected ${shape(expected.shape)}`}
  }
  const exact = tolerance.exact === true || !FLOAT_DTYPES.has(expected.dtype)
  return tensorMetrics(actual.data as ArrayLike<number>, expected.data as ArrayLike<number>, exact ? EXACT : tolerance)
}
