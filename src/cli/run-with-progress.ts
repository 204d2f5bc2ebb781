import type {PythonProgressEvent} from '../python/index.js'
import {ProgressReporter} from './progress-reporter.js'

export interface ProgressHooks {
  readonly onProgress: (event: PythonProgressEvent) => void
  /** Set when verbose: the job's plain log lines go to stderr. */
  readonly onLog?: (line: string) => void
}

/** Runs `work` with progress on stderr (and, when verbose, the job's log lines); the bar is closed either way. */
export async function runWithProgress<T>(params: {readonly verbose: boolean}, work: (hooks: ProgressHooks) => Promise<T>): Promise<T> {
  const reporter = new ProgressReporter()
  try {
    return await work({
      onProgress: (event) => reporter.update(event),
      ...(params.verbose ? {onLog: (line: string) => process.stderr.write(`${line}\n`)} : {}),
    })
  } finally {
    reporter.stop()
  }
}
