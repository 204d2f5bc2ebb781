import type {NumericsChange} from '../upstream/numerics-changes.js'
import type {RunMode} from './check-recorder.js'
import type {CheckName} from './default-tolerances.js'
import {PARITY_STAGES, STAGE_LABELS, type ParityComponent, type ParityStage} from './parity-stages.js'
import {describeCheck, worstOf, type CheckDigest, type RunSummary, type StageSummary} from './summarize-run.js'

export type ParityModeOption = 'teacher' | 'free' | 'both'

export interface ParityRun extends RunSummary {
  readonly durationMs: number
}

export interface ParityCaseReport {
  readonly name: string
  readonly dir: string
  /** The dump compared with (`--against`). */
  readonly against: string | null
  readonly kind: 'synthesis' | 'voice'
  readonly ok: boolean
  /** Tensors of the golden that parity does not know (not compared). */
  readonly unknownTensors: readonly string[]
  /** Tensors of a complete golden (FORMAT.md) this one lacks, e.g. `chunk*.hidden` (4.x goldens hold a subset). */
  readonly absentTensors: readonly string[]
  readonly runs: readonly ParityRun[]
}

export interface ParityDivergence extends CheckDigest {
  readonly case: string
  readonly mode: RunMode
  /** The one-line statement printed at the top of the report. */
  readonly line: string
}

/** `pockettts parity --json` output. */
export interface ParityReport {
  readonly ok: boolean
  /** The first line of the report: the first divergence, or that there is none. */
  readonly summary: string
  readonly firstDivergence: ParityDivergence | null
  /**
   * A --cross-release run: the first check (teacher-forced first, in data-flow order) whose difference exceeds the drift
   * floor of contracts/tolerances.json, within tolerance or not: where the releases' numbers start to differ. null otherwise.
   */
  readonly firstDrift: (ParityDivergence & {readonly floor: number}) | null
  /**
   * A --cross-release run with a first drift: the known change of upstream numerics (contracts/upstreams.json
   * `numericsChanges`) whose effect first shows at that stage and check, between the releases compared; null when
   * none is known there (a new change to look for), or when the run is not --cross-release.
   */
  readonly driftCause: NumericsChange | null
  readonly model: string | null
  /** A --cross-release run (release drift): the export's upstream release and the goldens'; null otherwise. */
  readonly crossRelease: CrossRelease | null
  readonly mode: ParityModeOption | 'against'
  readonly components: readonly ParityComponent[]
  readonly tolerances: Readonly<Record<CheckName, string>>
  /** One row per stage over every case and mode. */
  readonly stages: readonly StageSummary[]
  /** Selected stages with no check in any case or mode (the goldens lack what they need; see stages[].skipped). */
  readonly absentStages: readonly ParityStage[]
  readonly cases: readonly ParityCaseReport[]
  readonly checks: number
  readonly failed: number
  readonly dump: {readonly dir: string; readonly cases: readonly string[]} | null
  readonly durationMs: number
}

export interface CrossRelease {
  /** The upstream release the export records (null: none). */
  readonly model: string | null
  readonly goldens: readonly string[]
}

export const MODE_LABEL: Readonly<Record<RunMode, string>> = {teacher: 'teacher-forced', free: 'free-running', against: 'dump vs dump'}

/** The exit code of a finished parity run: 0 every check within tolerance, 1 a parity failure. */
export function parityExitCode(report: Pick<ParityReport, 'ok'>): 0 | 1 {
  return report.ok ? 0 : 1
}

/** Teacher-forced divergences first (each block on its own), then free-running, then dump vs dump; cases in order. */
export function firstDivergence(reports: readonly ParityCaseReport[]): ParityDivergence | null {
  for (const mode of ['teacher', 'free', 'against'] as const) {
    for (const r of reports) {
      const run = r.runs.find((x) => x.mode === mode && x.firstDivergence !== null)
      const d = run?.firstDivergence
      if (d === null || d === undefined) continue
      const line =
        `First divergence: ${STAGE_LABELS[d.stage]}${d.where === '' ? '' : ` at ${d.where}`} ` +
        `(case ${r.name}, ${MODE_LABEL[mode]}): ${describeCheck(d)}`
      return {...d, case: r.name, mode, line}
    }
  }
  return null
}

/** The first drift above `floor` over the runs of a --cross-release report (teacher-forced first, cases in order). */
export function firstDrift(reports: readonly ParityCaseReport[], floor: number): (ParityDivergence & {readonly floor: number}) | null {
  for (const mode of ['teacher', 'free', 'against'] as const) {
    for (const r of reports) {
      const d = r.runs.find((x) => x.mode === mode && x.firstDrift !== undefined && x.firstDrift !== null)?.firstDrift
      if (d === null || d === undefined) continue
      const line =
        `first drift above ${floor.toExponential()}: ${STAGE_LABELS[d.stage]}${d.where === '' ? '' : ` at ${d.where}`} ` +
        `(case ${r.name}, ${MODE_LABEL[mode]}): ${describeCheck(d)}`
      return {...d, case: r.name, mode, line, floor}
    }
  }
  return null
}

export function aggregateStages(reports: readonly ParityCaseReport[]): StageSummary[] {
  return PARITY_STAGES.map((stage: ParityStage): StageSummary => {
    const rows = reports.flatMap((r) => r.runs.map((run) => ({r, run, row: run.stages.find((s) => s.stage === stage)!})))
    const checks = rows.reduce((n, x) => n + x.row.checks, 0)
    const failed = rows.reduce((n, x) => n + x.row.failed, 0)
    const candidates = rows
      .filter((x) => x.row.worst !== null)
      .map((x) => ({...x.row.worst!, case: x.r.name, mode: x.run.mode, metrics: {score: x.row.worst!.score}}))
    const worst = worstOf(candidates)
    const skipped = [...new Set(rows.flatMap((x) => x.row.skipped))]
    return {
      stage,
      label: STAGE_LABELS[stage],
      status: failed > 0 ? 'fail' : checks > 0 ? 'pass' : 'skip',
      checks,
      failed,
      worst: worst === undefined ? null : (({metrics: _metrics, ...rest}) => rest)(worst),
      skipped,
    }
  })
}
