/**
 * One tolerance: a float comparison passes when every element satisfies |actual − expected| ≤ atol + rtol·|expected|
 * (skipped when `atol` is null), the SNR is at least `minSnrDb` and the cosine similarity at least `minCosine`
 * (each when set), and NaN/±Inf sit at the same places. `exact` checks (integers, strings, counts) must be equal.
 * The values of every check live in `contracts/tolerances.json`.
 */
export interface Tolerance {
  readonly exact?: boolean
  readonly atol: number | null
  readonly rtol: number
  readonly minSnrDb: number | null
  readonly minCosine: number | null
}

/** The elementwise-only tolerance a manifest records per graph output (`{atol, rtol}`). */
export function elementwise(bound: {readonly atol: number; readonly rtol: number}): Tolerance {
  return {atol: bound.atol, rtol: bound.rtol, minSnrDb: null, minCosine: null}
}

/** Equality: what integers, booleans and counts are held to. */
export const EXACT: Tolerance = {exact: true, atol: 0, rtol: 0, minSnrDb: null, minCosine: null}
