/** min / median / max (and mean) of one metric over the measured runs. */
export interface Stat {
  readonly min: number
  readonly median: number
  readonly max: number
  readonly mean: number
  readonly n: number
}

/** Aggregates the values of one metric; the median of an even count is the mean of the two middle values. */
export function summarize(values: readonly number[]): Stat {
  const finite = values.filter((v) => Number.isFinite(v))
  if (finite.length === 0) return {min: Number.NaN, median: Number.NaN, max: Number.NaN, mean: Number.NaN, n: 0}
  const sorted = [...finite].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
  return {
    min: sorted[0] as number,
    median,
    max: sorted[sorted.length - 1] as number,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    n: sorted.length,
  }
}
