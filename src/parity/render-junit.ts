import {describeLocation} from './check-recorder.js'
import type {ParityReport} from './parity-report.js'
import {describeCheck} from './summarize-run.js'

export interface RenderJunitParams {
  readonly report: ParityReport
  /** Failing checks listed per failing stage. @default 20 */
  readonly maxFailures?: number
}

/**
 * JUnit XML for CI: one <testsuite> per case and mode (`parity.<case>.<mode>`), one <testcase> per stage;
 * a failing stage has a <failure> naming its first failing check, a stage with nothing compared is <skipped>.
 */
export function renderJunit(params: RenderJunitParams): string {
  const {report} = params
  const max = params.maxFailures ?? 20
  const suites: string[] = []
  let tests = 0
  let failures = 0
  let skipped = 0
  for (const c of report.cases) {
    for (const run of c.runs) {
      const suite = `parity.${c.name}.${run.mode}`
      const cases: string[] = []
      let suiteFailures = 0
      let suiteSkipped = 0
      for (const stage of run.stages) {
        const head = `    <testcase classname="${esc(suite)}" name="${esc(stage.label)}" time="0"`
        if (stage.status === 'skip') {
          suiteSkipped += 1
          cases.push(`${head}>\n      <skipped message="${esc(stage.skipped.join('; ') || 'nothing to compare')}"/>\n    </testcase>`)
          continue
        }
        if (stage.status === 'pass') {
          cases.push(`${head}/>`)
          continue
        }
        suiteFailures += 1
        const failing = run.failures.filter((f) => f.stage === stage.stage)
        const first = failing[0]
        const message =
          first === undefined ? `${stage.failed} check(s) failed` : `${describeLocation(first.location) || 'case'}: ${describeCheck(first)}`
        const body = failing.slice(0, max).map((f) => `${describeLocation(f.location) || 'case'}: ${describeCheck(f)}`)
        if (stage.failed > body.length) body.push(`… ${stage.failed - body.length} more failing check(s)`)
        cases.push(`${head}>\n      <failure type="parity" message="${esc(message)}">${esc(body.join('\n'))}</failure>\n    </testcase>`)
      }
      tests += run.stages.length
      failures += suiteFailures
      skipped += suiteSkipped
      const props = [
        ['golden', c.dir],
        ...(c.against === null ? [] : [['against', c.against]]),
        ['model', report.model ?? ''],
        ['checks', String(run.checks)],
        ['failed_checks', String(run.failed)],
      ]
      suites.push(
        `  <testsuite name="${esc(suite)}" tests="${run.stages.length}" failures="${suiteFailures}" ` +
          `errors="0" skipped="${suiteSkipped}" time="${(run.durationMs / 1000).toFixed(3)}">\n` +
          `    <properties>\n${props.map(([k, v]) => `      <property name="${esc(k ?? '')}" value="${esc(v ?? '')}"/>`).join('\n')}\n    </properties>\n` +
          `${cases.join('\n')}\n  </testsuite>`,
      )
    }
  }
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="pockettts parity" tests="${tests}" failures="${failures}" errors="0" ` +
    `skipped="${skipped}" time="${(report.durationMs / 1000).toFixed(3)}">\n` +
    `${suites.join('\n')}\n</testsuites>\n`
  )
}

/** XML-escapes text for attributes and element content, dropping characters XML 1.0 forbids. */
function esc(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  )
}
