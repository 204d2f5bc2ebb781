import type {Tolerance} from './tolerance.js'

/** How far one tensor is from its golden. */
export interface TensorMetrics {
  readonly elements: number
  /** Largest |actual − golden| over elements that are finite on both sides. */
  readonly maxAbs: number
  /** Flat index of `maxAbs` (−1 when there is no finite element). */
  readonly maxAbsIndex: number
  /** sqrt(mean((actual − golden)²)). */
  readonly rmsError: number
  /** Largest |actual − golden| / |golden| over elements with |golden| ≥ 1e-6. */
  readonly maxRel: number
  /** Cosine similarity (1 when both are all zero). */
  readonly cosine: number
  /** 10·log10(Σgolden² / Σ(actual − golden)²), floored at −999; null when the difference is exactly zero. */
  readonly snrDb: number | null
  /** Elements where NaN/±Inf do not agree (a NaN or Inf on one side only, or Infs of opposite sign). */
  readonly nonFiniteMismatches: number
  /** Largest |actual − golden| / (atol + rtol·|golden|): ≤ 1 is within the elementwise tolerance. */
  readonly score: number
  /** Flat index of `score`. */
  readonly scoreIndex: number
}

export interface MetricsResult {
  readonly metrics: TensorMetrics
  readonly passed: boolean
  /** Why it failed. */
  readonly reason?: string
}

const REL_FLOOR = 1e-6

/** Compares two float tensors of the same length under one tolerance. */
export function tensorMetrics(actual: ArrayLike<number>, golden: ArrayLike<number>, tolerance: Tolerance): MetricsResult {
  const n = golden.length
  let maxAbs = 0
  let maxAbsIndex = -1
  let sumSq = 0
  let sumRef = 0
  let sumAct = 0
  let dot = 0
  let maxRel = 0
  let finite = 0
  let nonFinite = 0
  let firstNonFinite = -1
  let score = 0
  let scoreIndex = -1
  const atol = tolerance.atol ?? 0
  const rtol = tolerance.atol === null ? 0 : tolerance.rtol
  for (let i = 0; i < n; i += 1) {
    const a = Number(actual[i])
    const e = Number(golden[i])
    if (!Number.isFinite(a) || !Number.isFinite(e)) {
      const agree = (Number.isNaN(a) && Number.isNaN(e)) || a === e
      if (!agree) {
        nonFinite += 1
        if (firstNonFinite < 0) firstNonFinite = i
      }
      continue
    }
    finite += 1
    const d = Math.abs(a - e)
    if (d > maxAbs || maxAbsIndex < 0) {
      maxAbs = d
      maxAbsIndex = i
    }
    sumSq += d * d
    sumRef += e * e
    sumAct += a * a
    dot += a * e
    const abs = Math.abs(e)
    if (abs >= REL_FLOOR && d / abs > maxRel) maxRel = d / abs
    const bound = atol + rtol * abs
    const s = d === 0 ? 0 : bound === 0 ? Infinity : d / bound
    if (s > score || scoreIndex < 0) {
      score = s
      scoreIndex = i
    }
  }
  const snrDb = sumSq === 0 ? null : sumRef === 0 ? -999 : Math.max(-999, 10 * Math.log10(sumRef / sumSq))
  const cosine = sumRef === 0 && sumAct === 0 ? 1 : sumRef === 0 || sumAct === 0 ? 0 : dot / Math.sqrt(sumRef * sumAct)
  const metrics: TensorMetrics = {
    elements: n,
    maxAbs,
    maxAbsIndex,
    rmsError: finite === 0 ? 0 : Math.sqrt(sumSq / finite),
    maxRel,
    cosine,
    snrDb,
    nonFiniteMismatches: nonFinite,
    score: tolerance.atol === null ? 0 : score,
    scoreIndex: nonFinite > 0 ? firstNonFinite : scoreIndex,
  }
  if (nonFinite > 0) {
    return {
      metrics: {...metrics, score: Infinity},
      passed: false,
      reason: `NaN/Inf disagree at ${nonFinite} element(s), first at flat index ${firstNonFinite}`,
    }
  }
  if (tolerance.atol !== null && score > 1) {
    return {metrics, passed: false, reason: `max-abs ${fmt(maxAbs)} at flat index ${maxAbsIndex} exceeds the tolerance`}
  }
  if (tolerance.minSnrDb !== null && snrDb !== null && snrDb < tolerance.minSnrDb) {
    return {
      metrics: {...metrics, score: Math.max(metrics.score, 1 + (tolerance.minSnrDb - snrDb))},
      passed: false,
      reason: `SNR ${snrDb.toFixed(1)} dB below ${tolerance.minSnrDb} dB`,
    }
  }
  if (tolerance.minCosine !== null && cosine < tolerance.minCosine) {
    return {
      metrics: {...metrics, score: Math.max(metrics.score, 2 - cosine / tolerance.minCosine)},
      passed: false,
      reason: `cosine ${cosine.toFixed(6)} below ${tolerance.minCosine}`,
    }
  }
  return {metrics, passed: true}
}

/** A short number, 3 significant digits: 0, 1.23e-5, 0.0341. */
export function fmt(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-'
  if (value === 0) return '0'
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf'
  const abs = Math.abs(value)
  return abs >= 1e-2 && abs < 1e4 ? String(Number(value.toPrecision(3))) : value.toExponential(2)
}

/** The multi-index of a flat index in a row-major shape: `(1, 12)`. */
export function unravel(index: number, shape: readonly number[]): string {
  if (index < 0 || shape.length === 0) return String(index)
  const out: number[] = []
  let rest = index
  for (let d = shape.length - 1; d >= 0; d -= 1) {
    const size = shape[d] ?? 1
    out.unshift(rest % size)
    rest = Math.floor(rest / size)
  }
  return `(${out.join(', ')})`
}
