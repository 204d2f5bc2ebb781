import {writeFileAtomic} from '../fs/write-file-atomic.js'
import {modelFacts, pocketttsVersion} from './parity-html-facts.js'
import type {ParityReport} from './parity-report.js'
import type {ParityTrace} from './parity-trace.js'
import {renderParityHtml} from './render-parity-html.js'

export interface WriteParityHtmlParams {
  readonly path: string
  readonly report: ParityReport
  /** The trace runParity filled (`trace` param). */
  readonly trace: ParityTrace
  /** @default now */
  readonly generatedAt?: Date
}

/** Renders the HTML report of a parity run and writes it atomically (a temporary file renamed into place). */
export async function writeParityHtml(params: WriteParityHtmlParams): Promise<void> {
  const html = renderParityHtml({
    report: params.report,
    trace: params.trace.cases,
    model: await modelFacts(params.report.model),
    version: pocketttsVersion(),
    generatedAt: (params.generatedAt ?? new Date()).toISOString(),
  })
  await writeFileAtomic({path: params.path, data: html})
}
