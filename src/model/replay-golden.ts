import {isPocketTtsError} from '../errors/index.js'
import {runParity} from '../parity/index.js'

export interface ReplayGoldenParams {
  /** The exported model folder. */
  readonly modelDir: string
  /** Its embedded golden case folder. */
  readonly goldenDir: string
  readonly threads: number
  readonly signal?: AbortSignal
}

export interface ReplayGoldenResult {
  readonly ok: boolean
  /** One line: the checks run, or the first divergence. */
  readonly detail: string
  /** The first stage that diverged (parity's stage name). */
  readonly stage?: string
}

/** Runs the engine on the export's golden as `pockettts parity --mode both` does (tolerances from contracts/tolerances.json). */
export async function replayGolden(params: ReplayGoldenParams): Promise<ReplayGoldenResult> {
  try {
    const report = await runParity({
      model: params.modelDir,
      goldens: [params.goldenDir],
      mode: 'both',
      threads: params.threads,
      ...(params.signal === undefined ? {} : {signal: params.signal}),
    })
    if (report.ok) return {ok: true, detail: `teacher-forced and free-running: ${report.checks} checks pass`}
    const first = report.firstDivergence
    return {ok: false, detail: first?.line ?? report.summary, ...(first === null ? {} : {stage: first.stage})}
  } catch (error) {
    if (!isPocketTtsError(error)) throw error
    return {ok: false, detail: `the golden cannot be replayed: ${error.message}`}
  }
}
