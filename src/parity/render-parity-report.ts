import {renderTable} from '../report/render-table.js'
import {MODE_LABEL, type ParityReport} from './parity-report.js'
import {STAGE_LABELS} from './parity-stages.js'
import {fmt} from '../tensor/index.js'
import type {CheckDigest} from './summarize-run.js'

export interface RenderParityReportParams {
  readonly report: ParityReport
  /** Add every run's stage rows and one row per check (per step / frame / layer). */
  readonly verbose?: boolean
}

const RESULT = {pass: 'ok', fail: 'FAIL', skip: '-'} as const
const MODE = MODE_LABEL

/** The plain-text report: the first-divergence line, one row per stage, one row per case and mode. */
export function renderParityReport(params: RenderParityReportParams): string {
  const {report} = params
  const out: string[] = [report.summary, '']
  out.push(
    renderTable(
      ['stage', 'result', 'checks', 'failed', 'worst max-abs', 'cos', 'SNR dB', 'where'],
      report.stages.map((s) => {
        const w = s.worst
        return [
          s.label,
          RESULT[s.status],
          String(s.checks),
          String(s.failed),
          w === null ? '-' : w.maxAbs === undefined ? (w.passed ? 'exact' : 'differs') : fmt(w.maxAbs),
          w?.cosine === undefined ? '-' : w.cosine.toFixed(6),
          snr(w),
          w === null ? (s.skipped[0] ?? '') : `${w.case ?? ''} ${w.mode ?? ''}${w.where === '' ? '' : `, ${w.where}`}: ${w.tensor}`,
        ]
      }),
    ),
  )
  out.push('')
  out.push(
    renderTable(
      ['case', 'mode', 'result', 'checks', 'failed', 'seconds', 'first divergence'],
      report.cases.flatMap((c) =>
        c.runs.map((r) => [
          c.name,
          MODE[r.mode],
          r.ok ? 'ok' : 'FAIL',
          String(r.checks),
          String(r.failed),
          (r.durationMs / 1000).toFixed(2),
          r.firstDivergence === null
            ? '-'
            : `${STAGE_LABELS[r.firstDivergence.stage]}${r.firstDivergence.where === '' ? '' : ` at ${r.firstDivergence.where}`}: ${r.firstDivergence.tensor}`,
        ]),
      ),
    ),
  )
  const unknown = report.cases.flatMap((c) => c.unknownTensors.map((t) => `${c.name}/${t}`))
  const skipped = [
    ...new Set(
      report.cases.flatMap((c) =>
        c.runs.flatMap((r) =>
          r.skipped.map(
            (s) =>
              `${s.stage === undefined ? '' : `${STAGE_LABELS[s.stage]}: `}${s.tensor.replace(/^chunk\d+\./, 'chunk*.')} (${s.reason})`,
          ),
        ),
      ),
    ),
  ]
  const absent = [...new Set(report.cases.flatMap((c) => c.absentTensors))]
  if (unknown.length > 0 || skipped.length > 0 || absent.length > 0 || report.absentStages.length > 0) out.push('')
  if (absent.length > 0) out.push(`Absent from the golden(s): ${absent.join(', ')}`)
  if (report.absentStages.length > 0)
    out.push(
      `Stages not compared (nothing in the goldens to compare them with): ${report.absentStages.map((s) => STAGE_LABELS[s]).join(', ')}`,
    )
  if (unknown.length > 0) out.push(`Skipped, unknown to parity: ${unknown.join(', ')}`)
  for (const s of skipped) out.push(`Skipped: ${s}`)
  if (report.dump !== null) out.push('', `Dumped ${report.dump.cases.length} case(s) to ${report.dump.dir}`)
  if (params.verbose === true) out.push(...renderDetails(report))
  return out.join('\n')
}

function renderDetails(report: ParityReport): string[] {
  const out: string[] = []
  for (const c of report.cases) {
    for (const r of c.runs) {
      out.push('', `== ${c.name}, ${MODE[r.mode]}: ${r.ok ? 'ok' : 'FAIL'}`)
      const rows = r.details ?? r.failures
      out.push(
        renderTable(
          ['stage', 'where', 'tensor', 'result', 'max-abs', 'at', 'rms', 'max-rel', 'cos', 'SNR dB', 'detail'],
          rows.map((d) => [
            STAGE_LABELS[d.stage],
            d.where,
            d.tensor,
            d.passed ? 'ok' : 'FAIL',
            d.maxAbs === undefined ? '' : fmt(d.maxAbs),
            d.maxAbsAt ?? '',
            d.rmsError === undefined ? '' : fmt(d.rmsError),
            d.maxRel === undefined ? '' : fmt(d.maxRel),
            d.cosine === undefined ? '' : d.cosine.toFixed(6),
            d.maxAbs === undefined ? '' : snr(d),
            d.maxAbs === undefined ? `${d.actual ?? ''}${d.passed ? '' : ` vs golden ${d.expected ?? ''}`}` : (d.reason ?? ''),
          ]),
        ),
      )
    }
  }
  return out
}

function snr(d: CheckDigest | null): string {
  if (d === null || d.maxAbs === undefined) return '-'
  return d.snrDb === null || d.snrDb === undefined ? 'inf' : d.snrDb.toFixed(1)
}
