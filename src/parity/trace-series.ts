import {compareOrder, type CheckResult} from './check-recorder.js'
import type {CheckName} from './default-tolerances.js'
import {PARITY_STAGES, type ParityStage} from './parity-stages.js'
import {digest, type CheckDigest} from './summarize-run.js'

/** What a plot's x axis counts: AR steps or decoded frames, the chunks of a case laid end to end. */
export type TraceAxis = 'step' | 'frame'

/** One check at one step or frame (the worst over layers when a check is per layer). */
export interface TracePoint {
  /** Position on the axis: the chunk's start plus the step or frame. */
  readonly x: number
  /** Largest error over its allowance (≤ 1 within tolerance); Infinity for an exact check that differs or NaN/Inf. */
  readonly score: number
  /** Float checks: largest |actual − golden| of the worst layer. */
  readonly maxAbs: number | null
  readonly passed: boolean
  /** `chunk 0, step 5, layer 1`. */
  readonly where: string
}

/** One check of a stage over the steps or frames of a run. */
export interface TraceSeries {
  readonly check: CheckName
  /** The tensor without its chunk prefix: `layer_out`, `audio`. */
  readonly tensor: string
  readonly tolerance: string
  readonly points: readonly TracePoint[]
  /** Points before decimation (more than `points.length` when the run was long). */
  readonly total: number
}

/** The per-step (or per-frame) checks of one stage in one run. */
export interface TraceStagePlot {
  readonly stage: ParityStage
  readonly axis: TraceAxis
  readonly series: readonly TraceSeries[]
}

/** Where each chunk starts on each axis, and the axis length. */
export interface TraceAxes {
  readonly step: {readonly chunkStarts: readonly number[]; readonly length: number}
  readonly frame: {readonly chunkStarts: readonly number[]; readonly length: number}
}

export interface TraceRunChecks {
  readonly axes: TraceAxes
  readonly plots: readonly TraceStagePlot[]
  /** Checks of the run that sit at no step or frame (per chunk, per case), in data-flow order. */
  readonly others: readonly CheckDigest[]
  /** Such checks beyond the bound, not listed. */
  readonly othersLeftOut: number
}

export interface TraceRunChecksParams {
  readonly results: readonly CheckResult[]
  /** Points kept per series (a longer series keeps the worst point of each span). @default 1500 */
  readonly maxPoints?: number
  /** Checks kept outside the plots. @default 400 */
  readonly maxOthers?: number
}

/** The checks of one run as the HTML report draws them: per stage and axis, one series per check. */
export function traceRunChecks(params: TraceRunChecksParams): TraceRunChecks {
  const sorted = [...params.results].sort((a, b) => compareOrder(a.order, b.order))
  const axes = axesOf(sorted)
  const groups = new Map<
    string,
    {stage: ParityStage; axis: TraceAxis; check: CheckName; tensor: string; tolerance: string; byX: Map<number, TracePoint>}
  >()
  const others: CheckDigest[] = []
  let othersLeftOut = 0
  for (const r of sorted) {
    const axis = axisOf(r)
    if (axis === null) {
      if (others.length < (params.maxOthers ?? 400)) others.push(digest(r))
      else othersLeftOut += 1
      continue
    }
    const d = digest(r)
    const tensor = r.tensor.replace(/^chunk\d+\./, '')
    const key = `${r.stage}|${axis}|${r.check}|${tensor}`
    let group = groups.get(key)
    if (group === undefined) {
      group = {stage: r.stage, axis, check: r.check, tensor, tolerance: d.tolerance, byX: new Map()}
      groups.set(key, group)
    }
    const x = (axes[axis].chunkStarts[r.location.chunk ?? 0] ?? 0) + (r.location[axis] ?? 0)
    const point: TracePoint = {x, score: d.score, maxAbs: d.maxAbs ?? null, passed: d.passed, where: d.where}
    const previous = group.byX.get(x)
    if (previous === undefined || worse(point, previous)) group.byX.set(x, point)
  }
  const plots: TraceStagePlot[] = []
  for (const stage of PARITY_STAGES) {
    for (const axis of ['step', 'frame'] as const) {
      const series = [...groups.values()]
        .filter((g) => g.stage === stage && g.axis === axis)
        .map((g): TraceSeries => {
          const points = [...g.byX.values()].sort((a, b) => a.x - b.x)
          return {
            check: g.check,
            tensor: g.tensor,
            tolerance: g.tolerance,
            points: decimate(points, params.maxPoints ?? 1500),
            total: points.length,
          }
        })
      if (series.length > 0) plots.push({stage, axis, series})
    }
  }
  return {axes, plots, others, othersLeftOut}
}

/** The x of a check's step or frame on a run's axes (null: the check sits at no step or frame). */
export function traceX(axes: TraceAxes, location: CheckResult['location']): {axis: TraceAxis; x: number} | null {
  const axis = location.step !== undefined ? 'step' : location.frame !== undefined ? 'frame' : null
  if (axis === null) return null
  return {axis, x: (axes[axis].chunkStarts[location.chunk ?? 0] ?? 0) + (location[axis] ?? 0)}
}

function axisOf(r: CheckResult): TraceAxis | null {
  if (r.location.whole === true) return null
  return r.location.step !== undefined ? 'step' : r.location.frame !== undefined ? 'frame' : null
}

/** Per axis, each chunk's length (its largest step or frame + 1) laid end to end. */
function axesOf(results: readonly CheckResult[]): TraceAxes {
  const make = (axis: TraceAxis): TraceAxes['step'] => {
    const lengths: number[] = []
    for (const r of results) {
      const i = r.location[axis]
      if (i === undefined || r.location.whole === true) continue
      const c = r.location.chunk ?? 0
      lengths[c] = Math.max(lengths[c] ?? 0, i + 1)
    }
    const chunkStarts: number[] = []
    let start = 0
    for (let c = 0; c < lengths.length; c += 1) {
      chunkStarts.push(start)
      start += lengths[c] ?? 0
    }
    return {chunkStarts, length: start}
  }
  return {step: make('step'), frame: make('frame')}
}

function worse(a: TracePoint, b: TracePoint): boolean {
  if (a.passed !== b.passed) return !a.passed
  return a.score > b.score
}

/** At most `max` points: the worst point of each of `max` equal spans of x (the worst point overall is kept). */
function decimate(points: readonly TracePoint[], max: number): TracePoint[] {
  if (points.length <= max) return [...points]
  const last = points[points.length - 1]!.x
  const first = points[0]!.x
  const width = (last - first + 1) / max
  const out: TracePoint[] = []
  let bucket = -1
  for (const p of points) {
    const b = Math.floor((p.x - first) / width)
    if (b !== bucket) {
      out.push(p)
      bucket = b
    } else if (worse(p, out[out.length - 1]!)) {
      out[out.length - 1] = p
    }
  }
  return out
}
