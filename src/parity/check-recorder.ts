import type {CheckName, Tolerance, ToleranceTable} from './default-tolerances.js'
import {stageIndex, type ParityStage} from './parity-stages.js'
import {tensorMetrics, type TensorMetrics} from '../tensor/index.js'

/** teacher: golden inputs fed to each block; free: the engine runs alone; against: two dumps compared. */
export type RunMode = 'teacher' | 'free' | 'against'

/** Where a check sits in the run. */
export interface CheckLocation {
  readonly chunk?: number
  /** AR step (FlowLM call after the text prefill). */
  readonly step?: number
  /** Decoded frame. */
  readonly frame?: number
  /** FlowLM layer (voice KV: attention layer). */
  readonly layer?: number
  /** The whole audio of the case (all chunks). */
  readonly whole?: boolean
}

/** One comparison of one tensor (or one row of it, or one manifest field) with its golden. */
export interface CheckResult {
  readonly stage: ParityStage
  readonly check: CheckName
  /** The golden tensor or manifest field compared: `chunk0.layer_out`, `chunks[0].eos_step`. */
  readonly tensor: string
  readonly location: CheckLocation
  readonly passed: boolean
  readonly tolerance: Tolerance
  /** Float comparisons. */
  readonly metrics?: TensorMetrics
  /** Shape of the compared slice (float comparisons). */
  readonly shape?: readonly number[]
  /** Exact comparisons: both values, shortened. */
  readonly actual?: string
  readonly expected?: string
  readonly reason?: string
  /** Data-flow sort key (the first failing check in this order is the first divergence). */
  readonly order: readonly number[]
}

export interface SkippedCheck {
  readonly stage?: ParityStage
  /** The tensor (or file) not compared. */
  readonly tensor: string
  readonly reason: string
}

export interface CheckRecorderParams {
  readonly mode: RunMode
  readonly tolerances: ToleranceTable
  /** Stages to record (checks of other stages are dropped). */
  readonly stages: ReadonlySet<ParityStage>
  /** Called with both sides of every waveform compared (`audio` of a chunk or the whole case, `voice.audio`), for reports that draw them. */
  readonly onWaveform?: (waveform: ComparedWaveform) => void
}

/** Both sides of a compared waveform (views: copy what must outlive the call). */
export interface ComparedWaveform {
  readonly check: CheckName
  readonly tensor: string
  readonly location: CheckLocation
  readonly actual: ArrayLike<number>
  readonly golden: ArrayLike<number>
}

/** Checks whose data is a waveform. */
const WAVEFORM_CHECKS: ReadonlySet<CheckName> = new Set<CheckName>(['audio', 'voice.audio'])

interface Placement {
  readonly stage: ParityStage
  readonly check: CheckName
  readonly tensor: string
  readonly location: CheckLocation
  /** Position in time within the chunk when it is neither a step nor a frame (e.g. where counts diverge). */
  readonly time?: number
}

/**
 * Collects the checks of one run (one case, one mode) with their data-flow order. Teacher-forced runs feed
 * every block golden inputs, so a failing block is the culprit: order is stage first, then chunk, then
 * step/frame. Free and against runs are one causal chain: order is chunk, then time, then stage.
 */
export class CheckRecorder {
  private readonly list: CheckResult[] = []
  private readonly skips: SkippedCheck[] = []

  constructor(private readonly params: CheckRecorderParams) {}

  get mode(): RunMode {
    return this.params.mode
  }

  get results(): readonly CheckResult[] {
    return this.list
  }

  get skipped(): readonly SkippedCheck[] {
    return this.skips
  }

  wants(stage: ParityStage): boolean {
    return this.params.stages.has(stage)
  }

  /** Compares float data (same length and shape expected). */
  compare(
    p: Placement & {
      readonly actual: ArrayLike<number>
      readonly golden: ArrayLike<number>
      readonly shape: readonly number[]
      readonly actualShape?: readonly number[]
    },
  ): void {
    if (!this.wants(p.stage)) return
    const tolerance = this.params.tolerances[p.check]
    if (this.params.onWaveform !== undefined && WAVEFORM_CHECKS.has(p.check))
      this.params.onWaveform({check: p.check, tensor: p.tensor, location: p.location, actual: p.actual, golden: p.golden})
    const actualShape = p.actualShape ?? p.shape
    if (p.actual.length !== p.golden.length || actualShape.join(',') !== p.shape.join(',')) {
      this.push(p, {passed: false, tolerance, shape: p.shape, reason: `shape [${actualShape.join(', ')}], golden [${p.shape.join(', ')}]`})
      return
    }
    const result = tensorMetrics(p.actual, p.golden, tolerance)
    this.push(p, {
      passed: result.passed,
      tolerance,
      shape: p.shape,
      metrics: result.metrics,
      ...(result.reason === undefined ? {} : {reason: result.reason}),
    })
  }

  /** Compares integers, strings or lists of them exactly. */
  exact(p: Placement & {readonly actual: ExactValue; readonly golden: ExactValue}): void {
    if (!this.wants(p.stage)) return
    const actual = show(p.actual)
    const expected = show(p.golden)
    const passed = JSON.stringify(p.actual) === JSON.stringify(p.golden)
    this.push(p, {
      passed,
      tolerance: this.params.tolerances[p.check],
      actual: shorten(actual),
      expected: shorten(expected),
      ...(passed
        ? {}
        : {reason: `${shorten(actual)}, golden ${shorten(expected)}${Array.isArray(p.actual) ? firstDifference(p.actual, p.golden) : ''}`}),
    })
  }

  /** Records a tensor or file that was not compared, and why. */
  skip(p: SkippedCheck): void {
    if (p.stage !== undefined && !this.wants(p.stage)) return
    if (this.skips.some((s) => s.tensor === p.tensor && s.reason === p.reason)) return
    this.skips.push(p)
  }

  private push(p: Placement, result: Omit<CheckResult, 'stage' | 'check' | 'tensor' | 'location' | 'order'>): void {
    const {location} = p
    const chunk = location.whole === true ? Number.MAX_SAFE_INTEGER : (location.chunk ?? -1)
    const time = p.time ?? location.step ?? location.frame ?? -1
    const stage = stageIndex(p.stage)
    const seq = this.list.length
    const order = this.params.mode === 'teacher' ? [stage, chunk, time, seq] : [chunk, time, stage, seq]
    this.list.push({stage: p.stage, check: p.check, tensor: p.tensor, location, order, ...result})
  }
}

export type ExactValue = string | number | null | readonly (string | number)[]

function show(value: ExactValue): string {
  if (value === null) return 'none'
  if (Array.isArray(value)) return `[${value.join(', ')}]`
  return typeof value === 'string' ? JSON.stringify(value) : String(value)
}

function shorten(text: string, max = 80): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}

function firstDifference(a: ExactValue, b: ExactValue): string {
  if (!Array.isArray(a) || !Array.isArray(b)) return ''
  const n = Math.max(a.length, b.length)
  for (let i = 0; i < n; i += 1) if (a[i] !== b[i]) return ` (first difference at index ${i})`
  return ''
}

/** Compares two check orders. */
export function compareOrder(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

/** `chunk 0, step 5, layer 1` / `chunk 1, frame 3` / `whole audio`. */
export function describeLocation(location: CheckLocation): string {
  const parts: string[] = []
  if (location.whole === true) parts.push('whole audio')
  if (location.chunk !== undefined) parts.push(`chunk ${location.chunk}`)
  if (location.step !== undefined) parts.push(`step ${location.step}`)
  if (location.frame !== undefined) parts.push(`frame ${location.frame}`)
  if (location.layer !== undefined) parts.push(`layer ${location.layer}`)
  return parts.join(', ')
}
