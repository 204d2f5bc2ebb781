import type {BaselineComparison, BaselineResult, BenchReport} from './bench-report.js'

export interface CompareBaselineParams {
  readonly current: Pick<BenchReport, 'summary'>
  readonly baseline: Pick<BenchReport, 'summary'>
  /** Where the baseline came from (reported). */
  readonly file: string
  /** A metric regresses when it is worse than the baseline by more than this many percent. */
  readonly maxRegressionPct: number
}

/** The compared metrics, all medians; `higherIsBetter` flips the sign so that a positive change is a regression. */
const METRICS: readonly {
  readonly name: string
  readonly pick: (r: Pick<BenchReport, 'summary'>) => number
  readonly higherIsBetter: boolean
}[] = [
  {name: 'speed (median, × real time)', pick: (r) => r.summary.speed.median, higherIsBetter: true},
  {name: 'time to first audio (median, ms)', pick: (r) => r.summary.timeToFirstAudioMs.median, higherIsBetter: false},
  {name: 'FlowLM step (median, ms/frame)', pick: (r) => r.summary.msPerFrame.flowLm.median, higherIsBetter: false},
  {name: 'flow head (median, ms/frame)', pick: (r) => r.summary.msPerFrame.flowHead.median, higherIsBetter: false},
  {name: 'Mimi decode (median, ms/frame)', pick: (r) => r.summary.msPerFrame.mimi.median, higherIsBetter: false},
]

/** Compares medians with a stored report; `passed` is false when any metric regressed beyond the limit. */
export function compareBaseline(params: CompareBaselineParams): BaselineResult {
  const comparisons: BaselineComparison[] = []
  for (const metric of METRICS) {
    const baseline = metric.pick(params.baseline)
    const current = metric.pick(params.current)
    if (!Number.isFinite(baseline) || !Number.isFinite(current) || baseline === 0) continue
    const change = ((current - baseline) / baseline) * 100
    const regressionPct = metric.higherIsBetter ? -change : change
    comparisons.push({metric: metric.name, baseline, current, regressionPct, regressed: regressionPct > params.maxRegressionPct})
  }
  return {file: params.file, maxRegressionPct: params.maxRegressionPct, comparisons, passed: comparisons.every((c) => !c.regressed)}
}
