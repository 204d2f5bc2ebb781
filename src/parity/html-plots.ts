import {fmt} from '../tensor/index.js'
import type {TraceAxes, TraceStagePlot} from './trace-series.js'
import type {TraceWaveform} from './trace-waveform.js'

/** Series colours (the first divergence and failing points are red). */
const PALETTE = ['#1f77b4', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f']

/** A vertical mark on a plot: the first divergence of the run (and of the report when `first`). */
export interface PlotMark {
  readonly x: number
  readonly label: string
  /** The report's first divergence (the one its first line names). */
  readonly first: boolean
}

export interface ScorePlotParams {
  readonly plot: TraceStagePlot
  readonly axes: TraceAxes
  readonly marks: readonly PlotMark[]
  readonly width?: number
  readonly height?: number
}

/**
 * An inline SVG of one stage's checks over the steps (or frames) of a run: each check's score (largest error
 * over its allowance, atol + rtol·|golden|) on a log scale, the tolerance at 1, chunk starts dashed, failing
 * points in red, the first divergence as a red line. Exact matches (score 0) sit on the bottom edge, exact
 * mismatches and NaN/Inf (score ∞) on the top edge.
 */
export function scorePlot(params: ScorePlotParams): string {
  const {plot, axes} = params
  const width = params.width ?? 760
  const height = params.height ?? 210
  const m = {left: 58, right: 14, top: 14, bottom: 30}
  const w = width - m.left - m.right
  const h = height - m.top - m.bottom
  const axis = axes[plot.axis]
  const length = Math.max(1, axis.length)
  const scores = plot.series.flatMap((s) => s.points.map((p) => p.score)).filter((s) => s > 0 && Number.isFinite(s))
  const lo = Math.min(1e-2, ...scores)
  const hi = Math.max(1, ...scores)
  const decadeLo = Math.max(-12, Math.floor(Math.log10(lo)))
  const decadeHi = Math.max(decadeLo + 1, Math.ceil(Math.log10(hi * 1.0001)) + (hi >= 1 ? 1 : 0))
  const xOf = (x: number): number => m.left + (length <= 1 ? w / 2 : (x / (length - 1)) * w)
  const yOf = (score: number): number => {
    if (!(score > 0)) return m.top + h
    if (!Number.isFinite(score)) return m.top
    const t = (Math.log10(score) - decadeLo) / (decadeHi - decadeLo)
    return m.top + h - Math.min(1, Math.max(0, t)) * h
  }
  const out: string[] = []
  out.push(
    `<svg class="score-plot" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" ` +
      `role="img" data-stage="${plot.stage}" data-axis="${plot.axis}">`,
  )
  out.push(`<rect x="${m.left}" y="${m.top}" width="${w}" height="${h}" class="frame"/>`)
  for (let d = decadeLo; d <= decadeHi; d += 1) {
    const y = r(yOf(10 ** d))
    out.push(`<line x1="${m.left}" x2="${m.left + w}" y1="${y}" y2="${y}" class="grid"/>`)
    out.push(`<text x="${m.left - 6}" y="${y + 4}" class="tick" text-anchor="end">1e${d}</text>`)
  }
  const one = r(yOf(1))
  out.push(`<line x1="${m.left}" x2="${m.left + w}" y1="${one}" y2="${one}" class="tolerance"/>`)
  out.push(`<text x="${m.left + w - 4}" y="${one - 4}" class="tolerance-label" text-anchor="end">tolerance (score 1)</text>`)
  axis.chunkStarts.forEach((start, c) => {
    const x = r(xOf(start))
    if (c > 0) out.push(`<line x1="${x}" x2="${x}" y1="${m.top}" y2="${m.top + h}" class="chunk"/>`)
    if (axis.chunkStarts.length > 1) out.push(`<text x="${x + 3}" y="${m.top + 11}" class="tick">chunk ${c}</text>`)
  })
  const ticks = xTicks(length)
  for (const t of ticks) out.push(`<text x="${r(xOf(t))}" y="${m.top + h + 14}" class="tick" text-anchor="middle">${t}</text>`)
  out.push(
    `<text x="${m.left + w / 2}" y="${height - 3}" class="axis-label" text-anchor="middle">${plot.axis === 'step' ? 'AR step' : 'frame'} ` +
      `(chunks end to end)</text>`,
  )
  out.push(
    `<text x="12" y="${m.top + h / 2}" class="axis-label" text-anchor="middle" transform="rotate(-90 12 ${m.top + h / 2})">error / tolerance</text>`,
  )
  plot.series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length]!
    const points = s.points.map((p) => `${r(xOf(p.x))},${r(yOf(p.score))}`).join(' ')
    out.push(
      `<polyline class="series" data-check="${esc(s.check)}" data-tensor="${esc(s.tensor)}" ` +
        `fill="none" stroke="${colour}" stroke-width="1.4" points="${points}"/>`,
    )
    if (s.points.length <= 60) {
      for (const p of s.points) if (p.passed) out.push(`<circle cx="${r(xOf(p.x))}" cy="${r(yOf(p.score))}" r="1.8" fill="${colour}"/>`)
    }
    for (const p of s.points) {
      if (p.passed) continue
      out.push(
        `<circle class="failing" cx="${r(xOf(p.x))}" cy="${r(yOf(p.score))}" r="3"><title>${esc(`${s.tensor} ${p.where}: score ${fmt(p.score)}${p.maxAbs === null ? '' : `, max-abs ${fmt(p.maxAbs)}`} (${s.tolerance})`)}</title></circle>`,
      )
    }
  })
  for (const mark of params.marks) {
    const x = r(xOf(mark.x))
    out.push(
      `<g class="${mark.first ? 'divergence first-divergence' : 'divergence'}" data-x="${mark.x}"><line ` +
        `x1="${x}" x2="${x}" y1="${m.top}" y2="${m.top + h}"/><text x="${x + 4}" y="${m.top + 24}">${esc(mark.label)}</text></g>`,
    )
  }
  out.push('</svg>')
  return out.join('')
}

/** The legend of a score plot: each check's colour, tolerance and worst point. */
export function scoreLegend(plot: TraceStagePlot): string {
  const rows = plot.series.map((s, i) => {
    const worst = s.points.reduce<(typeof s.points)[number] | undefined>(
      (a, p) => (a === undefined || (!p.passed && a.passed) || (p.passed === a.passed && p.score > a.score) ? p : a),
      undefined,
    )
    const colour = PALETTE[i % PALETTE.length]!
    const n = s.total > s.points.length ? `${s.total} points, ${s.points.length} drawn (worst of each span)` : `${s.total} points`
    return (
      `<li><span class="swatch" style="background:${colour}"></span><code>${esc(s.tensor)}</code> ` +
      `(${esc(s.check)}, ${esc(s.tolerance)}): worst score ${worst === undefined ? '-' : fmt(worst.score)}${worst?.maxAbs === null || worst === undefined ? '' : `, max-abs ${fmt(worst.maxAbs)}`}${worst === undefined ? '' : ` at ${esc(worst.where)}`}; ` +
      `${n}</li>`
    )
  })
  return `<ul class="legend">${rows.join('')}</ul>`
}

export interface WaveformPlotParams {
  readonly expected: TraceWaveform | undefined
  readonly actual: TraceWaveform | undefined
  readonly width?: number
}

/** Expected (upstream) above, actual (this runtime) below, on one time axis and one amplitude scale. */
export function waveformPlot(params: WaveformPlotParams): string {
  const width = params.width ?? 760
  const lane = 90
  const m = {left: 58, right: 14, top: 8, bottom: 24}
  const w = width - m.left - m.right
  const height = m.top + 2 * lane + 10 + m.bottom
  const lanes = [
    ['expected (golden)', params.expected, '#1f77b4'],
    ['actual (this runtime)', params.actual, '#ff7f0e'],
  ] as const
  const longest = Math.max(1, ...lanes.map(([, wf]) => wf?.samples ?? 0))
  const rate = params.expected?.sampleRate ?? params.actual?.sampleRate ?? 24000
  const peak = Math.max(1e-6, ...lanes.flatMap(([, wf]) => (wf === undefined ? [] : [...wf.max.map(Math.abs), ...wf.min.map(Math.abs)])))
  const out: string[] = [`<svg class="waveform-plot" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img">`]
  lanes.forEach(([label, wf, colour], i) => {
    const top = m.top + i * (lane + 10)
    const mid = top + lane / 2
    out.push(`<rect x="${m.left}" y="${top}" width="${w}" height="${lane}" class="frame"/>`)
    out.push(`<line x1="${m.left}" x2="${m.left + w}" y1="${mid}" y2="${mid}" class="grid"/>`)
    out.push(`<text x="${m.left - 6}" y="${mid + 4}" class="tick" text-anchor="end">${i === 0 ? 'golden' : 'actual'}</text>`)
    out.push(`<text x="${m.left + 4}" y="${top + 12}" class="tick">${esc(label)}${wf === undefined ? ': not compared' : ''}</text>`)
    if (wf === undefined || wf.max.length === 0) return
    const span = (wf.samples / longest) * w
    const cols = wf.max.length
    const xOf = (c: number): number => m.left + (cols <= 1 ? 0 : (c / (cols - 1)) * span)
    const yOf = (v: number): number => mid - (v / peak) * (lane / 2 - 2)
    const upper = wf.max.map((v, c) => `${r(xOf(c))},${r(yOf(v))}`)
    const lower = wf.min.map((v, c) => `${r(xOf(c))},${r(yOf(v))}`).reverse()
    out.push(
      `<polygon class="envelope" data-samples="${wf.samples}" fill="${colour}" fill-opacity="0.75" ` +
        `stroke="${colour}" stroke-width="0.6" points="${[...upper, ...lower].join(' ')}"/>`,
    )
  })
  const seconds = longest / rate
  const base = m.top + 2 * lane + 10
  for (let k = 0; k <= 4; k += 1) {
    const x = r(m.left + (k / 4) * w)
    out.push(`<text x="${x}" y="${base + 14}" class="tick" text-anchor="middle">${((k / 4) * seconds).toFixed(2)} s</text>`)
  }
  out.push(`<text x="${m.left - 6}" y="${m.top + 10}" class="tick" text-anchor="end">±${fmt(peak)}</text>`)
  out.push('</svg>')
  return out.join('')
}

function xTicks(length: number): number[] {
  if (length <= 1) return [0]
  const step = niceStep((length - 1) / 8)
  const out: number[] = []
  for (let t = 0; t <= length - 1; t += step) out.push(t)
  return out
}

function niceStep(raw: number): number {
  if (raw <= 1) return 1
  const p = 10 ** Math.floor(Math.log10(raw))
  const f = raw / p
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p
}

function r(v: number): number {
  return Math.round(v * 10) / 10
}

/** Escapes text for HTML element content and attribute values. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}
