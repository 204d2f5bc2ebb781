import {fmt} from '../tensor/index.js'
import {describeLocation} from './check-recorder.js'
import {esc, scoreLegend, scorePlot, waveformPlot, type PlotMark} from './html-plots.js'
import type {Fact} from './parity-html-facts.js'
import {MODE_LABEL, type ParityCaseReport, type ParityReport, type ParityRun} from './parity-report.js'
import {STAGE_LABELS} from './parity-stages.js'
import type {TraceCase, TraceRun} from './parity-trace.js'
import {traceX} from './trace-series.js'
import type {TraceWaveform} from './trace-waveform.js'
import {describeCheck, type CheckDigest} from './summarize-run.js'

export interface RenderParityHtmlParams {
  readonly report: ParityReport
  /** What parity collected for the page (ParityTrace.cases), one entry per case of the report. */
  readonly trace: readonly TraceCase[]
  /** The exported model's facts (modelFacts). */
  readonly model: readonly Fact[]
  /** pockettts version. */
  readonly version: string
  /** When the report was made (ISO 8601). */
  readonly generatedAt: string
}

/** The format tag of the data block the page embeds (`<script type="application/json" id="parity-data">`). */
export const PARITY_HTML_FORMAT = 'pockettts-parity-html/1'

/**
 * One self-contained HTML page for a parity run: the first divergence, the stage table, per case its settings,
 * expected and actual waveforms with players (WAV as data: URIs), and per run one log-scale plot per stage of
 * each check's error over its tolerance by step or frame; then the model's facts and the tolerance table. No
 * script runs and nothing is fetched: plots are inline SVG, styles inline, and the plotted numbers are also
 * embedded as JSON.
 */
export function renderParityHtml(params: RenderParityHtmlParams): string {
  const {report} = params
  const first = report.firstDivergence
  const body: string[] = []
  body.push(`<header class="${report.ok ? 'pass' : 'fail'}"><h1>pockettts parity: ${report.ok ? 'no divergence' : 'FAIL'}</h1>`)
  body.push(
    `<p id="summary">${first === null ? esc(report.summary) : `<a href="#first-divergence">${esc(report.summary)}</a>`}</p></header>`,
  )
  body.push(runFacts(params))
  body.push(stageTable(report))
  body.push(
    `<nav><h2>Cases</h2><ul>${report.cases.map((c) => `<li><a href="#${caseId(c.name)}">${esc(c.name)}</a> ${badge(c.ok)}</li>`).join('')}</ul></nav>`,
  )
  for (const c of report.cases) {
    const traced = params.trace.find((t) => t.name === c.name)
    body.push(caseSection(report, c, traced))
  }
  body.push(`<section><h2>Model</h2>${factTable(params.model)}</section>`)
  body.push(toleranceTable(report))
  body.push(`<script type="application/json" id="parity-data">${jsonForScript(pageData(params))}</script>`)
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // nothing may be fetched: the page is opened from CI artifacts, often offline
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; media-src data:">`,
    `<title>${esc(`pockettts parity: ${report.ok ? 'ok' : 'FAIL'}: ${report.summary}`)}</title>`,
    `<style>${CSS}</style></head><body>`,
    ...body,
    '</body></html>',
    '',
  ].join('\n')
}

function runFacts(params: RenderParityHtmlParams): string {
  const {report} = params
  const facts: Fact[] = [
    ['pockettts', params.version],
    ['generated', params.generatedAt],
    ['mode', report.mode],
    ['components', report.components.join(', ')],
    ['cases', String(report.cases.length)],
    ['checks', `${report.checks} (${report.failed} failed)`],
    ['duration', `${(report.durationMs / 1000).toFixed(2)} s`],
  ]
  return `<section><h2>Run</h2>${factTable(facts)}</section>`
}

function stageTable(report: ParityReport): string {
  const rows = report.stages.map((s) => {
    const w = s.worst
    return `<tr class="${s.status}" data-stage="${s.stage}"><td>${esc(s.label)}</td><td>${s.status === 'pass' ? 'ok' : s.status === 'fail' ? 'FAIL' : '-'}</td><td>${s.checks}</td><td>${s.failed}</td><td>${w?.maxAbs === undefined ? (w === null ? '-' : w.passed ? 'exact' : 'differs') : fmt(w.maxAbs)}</td><td>${w === null ? '-' : fmt(w.score)}</td><td>${w === null ? esc(s.skipped[0] ?? '') : esc(`${w.case ?? ''} ${w.mode === undefined ? '' : MODE_LABEL[w.mode]}${w.where === '' ? '' : `, ${w.where}`}: ${w.tensor}`)}</td></tr>`
  })
  return (
    `<section><h2>Stages</h2><table class="stages"><thead><tr><th>stage</th><th>result</th><th>checks</th><th>failed</th><th>worst ` +
    `max-abs</th><th>worst score</th><th>where</th></tr></thead><tbody>${rows.join('')}</tbody></table><p ` +
    `class="note">score: the largest error over its allowance (atol + rtol·|golden|); ` +
    `≤ 1 is within tolerance.</p></section>`
  )
}

function caseSection(report: ParityReport, c: ParityCaseReport, traced: TraceCase | undefined): string {
  const out: string[] = [`<section class="case" id="${caseId(c.name)}" data-case="${esc(c.name)}">`]
  out.push(`<h2>Case ${esc(c.name)} ${badge(c.ok)}</h2>`)
  const facts: Fact[] = [
    ['golden', c.dir],
    ...(c.against === null ? [] : ([['against', c.against]] as Fact[])),
    ...(traced?.facts.settings ?? []),
  ]
  out.push(factTable(facts))
  if (traced !== undefined && traced.facts.chunks.length > 0) {
    out.push(
      `<table class="chunks"><thead><tr><th>chunk</th><th>text</th><th>tokens</th><th>EOS step</th><th>AR steps</th><th>frames</th></tr></thead><tbody>${traced.facts.chunks
        .map(
          (ch, i) =>
            `<tr><td>${i}</td><td>${esc(ch.text)}</td><td>${ch.nTokens ?? ''}</td><td>${ch.eosStep ?? 'none'}</td><td>${ch.steps ?? ''}</td><td>${ch.frames ?? ''}</td></tr>`,
        )
        .join('')}</tbody></table>`,
    )
  }
  if (c.unknownTensors.length > 0) out.push(`<p class="note">Not compared (unknown to parity): ${esc(c.unknownTensors.join(', '))}</p>`)
  if (traced !== undefined) out.push(audioBlock(traced))
  for (const run of c.runs) {
    const tracedRun = traced?.runs.find((r) => r.mode === run.mode)
    out.push(runSection(report, c, run, tracedRun))
  }
  out.push('</section>')
  return out.join('\n')
}

function audioBlock(traced: TraceCase): string {
  const out: string[] = ['<div class="audio"><h3>Audio: expected vs actual</h3>']
  const expected = traced.expected
  if (expected.length === 0 && traced.runs.every((r) => r.actual.length === 0)) {
    out.push('<p class="note">No audio was compared in this case.</p></div>')
    return out.join('')
  }
  for (const e of expected) out.push(player(e, 'expected (golden)', 'expected', undefined))
  for (const run of traced.runs) {
    for (const a of run.actual) {
      out.push(player(a, `actual, ${MODE_LABEL[run.mode]}`, 'actual', run.mode))
      out.push(
        `<figure>${waveformPlot({expected: expected.find((e) => e.tensor === a.tensor), actual: a})}<figcaption>${esc(a.tensor)}, ` +
          `${MODE_LABEL[run.mode]}: expected above, actual below (one amplitude scale)</figcaption></figure>`,
      )
    }
  }
  out.push('</div>')
  return out.join('\n')
}

function player(w: TraceWaveform, label: string, role: 'expected' | 'actual', mode: string | undefined): string {
  const seconds = (n: number): string => `${(n / w.sampleRate).toFixed(2)} s`
  const cut = w.wavSamples < w.samples ? ` (the first ${seconds(w.wavSamples)} of ${seconds(w.samples)})` : ` (${seconds(w.samples)})`
  return (
    `<div class="player"><span>${esc(label)}: <code>${esc(w.tensor)}</code>${esc(cut)}</span><audio ` +
    `controls preload="metadata" data-role="${role}"${mode === undefined ? '' : ` data-mode="${mode}"`} ` +
    `data-tensor="${esc(w.tensor)}" data-samples="${w.wavSamples}" data-sample-rate="${w.sampleRate}" ` +
    `src="data:audio/wav;base64,${Buffer.from(w.wav).toString('base64')}"></audio></div>`
  )
}

function runSection(report: ParityReport, c: ParityCaseReport, run: ParityRun, traced: TraceRun | undefined): string {
  const out: string[] = [`<section class="run" data-mode="${run.mode}">`]
  out.push(
    `<h3>${esc(MODE_LABEL[run.mode])} ${badge(run.ok)} <small>${run.checks} checks, ${run.failed} failed, ${(run.durationMs / 1000).toFixed(2)} s</small></h3>`,
  )
  const isReportFirst = (d: CheckDigest | null): boolean =>
    d !== null &&
    report.firstDivergence !== null &&
    report.firstDivergence.case === c.name &&
    report.firstDivergence.mode === run.mode &&
    report.firstDivergence.tensor === d.tensor &&
    report.firstDivergence.where === d.where
  const d = run.firstDivergence
  const firstHere = isReportFirst(d)
  if (d !== null) {
    out.push(
      `<p class="divergence-line"${firstHere ? ' id="first-divergence"' : ''}>First divergence ` +
        `of this run: <b>${esc(STAGE_LABELS[d.stage])}${d.where === '' ? '' : ` at ${esc(d.where)}`}</b>: ` +
        `${esc(describeCheck(d))}</p>`,
    )
  }
  if (traced === undefined) {
    out.push('</section>')
    return out.join('\n')
  }
  const at = d === null ? null : traceX(traced.axes, d.location)
  for (const plot of traced.plots) {
    const marks: PlotMark[] =
      d !== null && at !== null && d.stage === plot.stage && at.axis === plot.axis
        ? [{x: at.x, label: `first divergence: ${d.where}`, first: firstHere}]
        : []
    out.push(
      `<figure class="plot" data-stage="${plot.stage}" data-axis="${plot.axis}">${scorePlot({plot, axes: traced.axes, marks})}<figcaption>${esc(STAGE_LABELS[plot.stage])}, ` +
        `per ${plot.axis === 'step' ? 'AR step' : 'frame'} (${esc(MODE_LABEL[run.mode])})</figcaption>${scoreLegend(plot)}</figure>`,
    )
  }
  if (traced.others.length > 0) {
    const failing = traced.others.some((o) => !o.passed)
    out.push(
      `<details${failing ? ' open' : ''}><summary>Checks at no single step or frame (${traced.others.length}${traced.othersLeftOut > 0 ? `, ${traced.othersLeftOut} more not listed` : ''})</summary><table class="others"><thead><tr><th>stage</th><th>where</th><th>tensor</th><th>result</th><th>max-abs</th><th>score</th><th>tolerance</th><th>detail</th></tr></thead><tbody>${traced.others
        .map((o) => {
          const mark = isReportFirst(o) ? ' class="fail first-divergence"' : o.passed ? '' : ' class="fail"'
          return `<tr${mark} data-stage="${o.stage}"><td>${esc(STAGE_LABELS[o.stage])}</td><td>${esc(describeLocation(o.location) || 'case')}</td><td><code>${esc(o.tensor)}</code></td><td>${o.passed ? 'ok' : 'FAIL'}</td><td>${o.maxAbs === undefined ? '' : fmt(o.maxAbs)}</td><td>${fmt(o.score)}</td><td>${esc(o.tolerance)}</td><td>${esc(o.maxAbs === undefined ? `${o.actual ?? ''}${o.passed ? '' : ` vs golden ${o.expected ?? ''}`}` : (o.reason ?? ''))}</td></tr>`
        })
        .join('')}</tbody></table></details>`,
    )
  }
  out.push('</section>')
  return out.join('\n')
}

function toleranceTable(report: ParityReport): string {
  const rows = Object.entries(report.tolerances).map(([check, tol]) => `<tr><td><code>${esc(check)}</code></td><td>${esc(tol)}</td></tr>`)
  return `<section><h2>Tolerances used</h2><table class="tolerances"><thead><tr><th>check</th><th>tolerance</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`
}

function factTable(facts: readonly Fact[]): string {
  return `<table class="facts"><tbody>${facts.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</tbody></table>`
}

function badge(ok: boolean): string {
  return `<span class="badge ${ok ? 'pass' : 'fail'}">${ok ? 'ok' : 'FAIL'}</span>`
}

function caseId(name: string): string {
  return `case-${name.replace(/[^A-Za-z0-9_-]+/g, '_')}`
}

/** The numbers the plots draw, for tools and tests: score null is ∞ (an exact mismatch or NaN/Inf). */
function pageData(params: RenderParityHtmlParams): unknown {
  const {report} = params
  const finite = (v: number | null): number | null => (v === null || !Number.isFinite(v) ? null : v)
  const audio = (w: TraceWaveform): unknown => ({tensor: w.tensor, sampleRate: w.sampleRate, samples: w.samples, wavSamples: w.wavSamples})
  return {
    format: PARITY_HTML_FORMAT,
    version: params.version,
    ok: report.ok,
    summary: report.summary,
    firstDivergence:
      report.firstDivergence === null
        ? null
        : (({case: name, mode, stage, tensor, where, location}) => ({case: name, mode, stage, tensor, where, location}))(
            report.firstDivergence,
          ),
    cases: params.trace.map((c) => ({
      name: c.name,
      kind: c.kind,
      expected: c.expected.map(audio),
      runs: c.runs.map((run) => ({
        mode: run.mode,
        axes: run.axes,
        actual: run.actual.map(audio),
        plots: run.plots.map((p) => ({
          stage: p.stage,
          axis: p.axis,
          series: p.series.map((s) => ({
            check: s.check,
            tensor: s.tensor,
            tolerance: s.tolerance,
            total: s.total,
            points: s.points.map((pt) => [pt.x, finite(pt.score), finite(pt.maxAbs), pt.passed ? 1 : 0]),
          })),
        })),
      })),
    })),
  }
}

/** JSON safe inside a <script> element. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:0 16px 48px;color:#222;background:#fff}
header{margin:16px 0;padding:12px 16px;border-radius:6px}header.pass{background:#e8f5e9;border:1px solid #66bb6a}header.fail{background:#ffebee;border:1px solid #e53935}
header h1{margin:0 0 6px;font-size:22px}#summary{margin:0;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;word-break:break-word}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}h3 small{font-weight:normal;color:#666}
table{border-collapse:collapse;margin:6px 0;font-size:13px}td,th{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
table.facts th{background:#f6f6f6;font-weight:600;white-space:nowrap}tr.fail td{background:#ffebee}tr.skip td{color:#888}
.badge{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;font-weight:600;vertical-align:middle}.badge.pass{background:#c8e6c9;color:#1b5e20}.badge.fail{background:#ffcdd2;color:#b71c1c}
.case{border-top:3px solid #eee;margin-top:24px}.run{margin-left:8px}.note{color:#666;font-size:12px}
figure{margin:8px 0 14px}figcaption{font-size:12px;color:#555}
svg text{font:11px system-ui,sans-serif;fill:#444}svg .frame{fill:#fcfcfc;stroke:#bbb}svg .grid{stroke:#e6e6e6}
svg .tolerance{stroke:#d32f2f;stroke-dasharray:6 4;stroke-width:1.2}svg .tolerance-label{fill:#d32f2f}svg .chunk{stroke:#999;stroke-dasharray:3 3}
svg .failing{fill:#d32f2f}svg .divergence line{stroke:#ff6f00;stroke-width:1.5}svg .divergence text{fill:#e65100;font-weight:600}
svg .first-divergence line{stroke:#d32f2f;stroke-width:2}svg .first-divergence text{fill:#d32f2f}svg .axis-label{fill:#666}
.legend{list-style:none;padding:0;margin:2px 0;font-size:12px}.swatch{display:inline-block;width:10px;height:10px;margin-right:5px;border-radius:2px}
.player{display:flex;gap:10px;align-items:center;margin:4px 0;font-size:13px}.player audio{height:32px}
.divergence-line{background:#fff3e0;border-left:4px solid #ff6f00;padding:4px 8px;font-size:13px}#first-divergence{background:#ffebee;border-left-color:#d32f2f}
details{margin:6px 0}summary{cursor:pointer;color:#333}code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
`
