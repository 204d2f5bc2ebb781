import {compareOrder, describeLocation, type CheckLocation, type CheckResult, type RunMode, type SkippedCheck} from './check-recorder.js'
import {describeTolerance} from './load-tolerances.js'
import {PARITY_STAGES, STAGE_LABELS, type ParityStage} from './parity-stages.js'
import {fmt, unravel} from '../tensor/index.js'

/** One check as reports show it. */
export interface CheckDigest {
  readonly stage: ParityStage
  readonly check: string
  readonly tensor: string
  readonly location: CheckLocation
  /** `chunk 0, step 5, layer 1`. */
  readonly where: string
  readonly passed: boolean
  readonly tolerance: string
  readonly maxAbs?: number
  /** Index of the largest difference inside the compared slice: `(1, 12)`. */
  readonly maxAbsAt?: string
  readonly rmsError?: number
  readonly maxRel?: number
  readonly cosine?: number
  /** null: no difference at all. */
  readonly snrDb?: number | null
  readonly actual?: string
  readonly expected?: string
  readonly reason?: string
  /** ≤ 1 within tolerance (largest error over its allowance); exact checks: 0 or Infinity. */
  readonly score: number
}

export interface StageSummary {
  readonly stage: ParityStage
  readonly label: string
  readonly status: 'pass' | 'fail' | 'skip'
  readonly checks: number
  readonly failed: number
  /** The failing check with the largest error, else the check closest to its tolerance. */
  readonly worst: (CheckDigest & {readonly case?: string; readonly mode?: RunMode}) | null
  /** Why checks of this stage were skipped. */
  readonly skipped: readonly string[]
}

export interface RunSummary {
  readonly mode: RunMode
  readonly ok: boolean
  readonly checks: number
  readonly failed: number
  readonly firstDivergence: CheckDigest | null
  /** With a drift floor (`--cross-release`): the first check, in data-flow order, failing or differing by more than it. */
  readonly firstDrift?: CheckDigest | null
  readonly stages: readonly StageSummary[]
  readonly skipped: readonly SkippedCheck[]
  /** The failing checks in data-flow order (at most 50). */
  readonly failures: readonly CheckDigest[]
  /** Every check in data-flow order (only when asked for: --verbose). */
  readonly details?: readonly CheckDigest[]
}

export interface SummarizeRunParams {
  readonly mode: RunMode
  readonly results: readonly CheckResult[]
  readonly skipped: readonly SkippedCheck[]
  readonly selected: ReadonlySet<ParityStage>
  readonly details?: boolean
  /** Find the first check whose max-abs difference exceeds this (release drift). */
  readonly driftFloor?: number
}

/** Stage rows, failures and the first divergence of one run. */
export function summarizeRun(params: SummarizeRunParams): RunSummary {
  const sorted = [...params.results].sort((a, b) => compareOrder(a.order, b.order))
  const failing = sorted.filter((r) => !r.passed)
  const stages = PARITY_STAGES.map((stage): StageSummary => {
    const mine = sorted.filter((r) => r.stage === stage)
    const failed = mine.filter((r) => !r.passed).length
    const skipped = params.skipped.filter((s) => s.stage === stage).map((s) => `${s.tensor}: ${s.reason}`)
    const worst = worstOf(mine)
    const status = failed > 0 ? 'fail' : mine.length > 0 ? 'pass' : 'skip'
    if (!params.selected.has(stage)) skipped.push('not selected (--component)')
    else if (mine.length === 0 && skipped.length === 0)
      skipped.push(
        `nothing to compare (${params.mode === 'teacher' ? 'teacher-forced' : params.mode === 'free' ? 'free-running' : 'dump vs dump'} ` +
          `${stage === 'voice' ? 'on a synthesis case' : 'on this case'})`,
      )
    return {
      stage,
      label: STAGE_LABELS[stage],
      status,
      checks: mine.length,
      failed,
      worst: worst === undefined ? null : digest(worst),
      skipped,
    }
  })
  return {
    mode: params.mode,
    ok: failing.length === 0,
    checks: sorted.length,
    failed: failing.length,
    firstDivergence: failing[0] === undefined ? null : digest(failing[0]),
    ...(params.driftFloor === undefined ? {} : {firstDrift: firstAbove(sorted, params.driftFloor)}),
    stages,
    skipped: params.skipped,
    failures: failing.slice(0, 50).map(digest),
    ...(params.details === true ? {details: sorted.map(digest)} : {}),
  }
}

function firstAbove(sorted: readonly CheckResult[], floor: number): CheckDigest | null {
  const hit = sorted.find((r) => !r.passed || (r.metrics !== undefined && r.metrics.maxAbs > floor))
  return hit === undefined ? null : digest(hit)
}

/** The worst of some checks: failing first, then the largest score. */
export function worstOf<T extends {readonly passed: boolean; readonly metrics?: {readonly score: number}}>(
  list: readonly T[],
): T | undefined {
  let worst: T | undefined
  for (const r of list) {
    if (worst === undefined) {
      worst = r
      continue
    }
    const key = (x: T): [number, number] => [x.passed ? 0 : 1, scoreOf(x)]
    const [wf, ws] = key(worst)
    const [rf, rs] = key(r)
    if (rf > wf || (rf === wf && rs > ws)) worst = r
  }
  return worst
}

function scoreOf(r: {readonly passed: boolean; readonly metrics?: {readonly score: number}}): number {
  return r.metrics?.score ?? (r.passed ? 0 : Number.POSITIVE_INFINITY)
}

export function digest(r: CheckResult): CheckDigest {
  const m = r.metrics
  return {
    stage: r.stage,
    check: r.check,
    tensor: r.tensor,
    location: r.location,
    where: describeLocation(r.location),
    passed: r.passed,
    tolerance: describeTolerance(r.tolerance),
    ...(m === undefined
      ? {}
      : {
          maxAbs: m.maxAbs,
          maxAbsAt: unravel(m.maxAbsIndex, r.shape ?? []),
          rmsError: m.rmsError,
          maxRel: m.maxRel,
          cosine: m.cosine,
          snrDb: m.snrDb,
        }),
    ...(r.actual === undefined ? {} : {actual: r.actual}),
    ...(r.expected === undefined ? {} : {expected: r.expected}),
    ...(r.reason === undefined ? {} : {reason: r.reason}),
    score: scoreOf(r),
  }
}

/** One line for a check: `chunk0.layer_out max-abs 0.031 at (17) > atol 0.0001 + rtol 0.001·|golden|; rms …`. */
export function describeCheck(d: CheckDigest): string {
  if (d.maxAbs === undefined) return `${d.tensor}: ${d.reason ?? (d.passed ? `${d.actual ?? ''} = golden` : 'differs')}`
  if (d.reason?.startsWith('shape') === true || d.reason?.startsWith('NaN') === true) return `${d.tensor}: ${d.reason}`
  const verdict = d.passed ? `within ${d.tolerance}` : `beyond ${d.tolerance}`
  const snr = d.snrDb === null || d.snrDb === undefined ? 'inf' : d.snrDb.toFixed(1)
  return (
    `${d.tensor} max-abs ${fmt(d.maxAbs)} at ${d.maxAbsAt ?? '?'} ${verdict}${d.reason !== undefined && !d.reason.startsWith('max-abs') ? ` (${d.reason})` : ''}; ` +
    `rms ${fmt(d.rmsError)}, max-rel ${fmt(d.maxRel)}, cos ${d.cosine === undefined ? '-' : d.cosine.toFixed(6)}, ` +
    `SNR ${snr} dB`
  )
}
