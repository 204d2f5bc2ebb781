import {findPython} from './find-python.js'
import {jobModules, type PythonJobKind} from './python-modules.js'
import {assertModulesPresent, probePython} from './probe-python.js'
import {runPythonJob, type PythonProgressEvent} from './run-python-job.js'
import type {UpstreamRelease} from '../upstream/upstream-releases.js'

/** How a library function that runs a Python job is run: interpreter, limits, cancellation, progress. */
export interface ToolingJobOptions {
  /**
   * The upstream pocket-tts release to run: its venv is the default interpreter, and the job checks that the
   * interpreter runs it (`--upstream`). @default the base release (2.1.0), unchecked
   */
  readonly upstream?: UpstreamRelease
  /** An interpreter named by a flag, `POCKETTTS_PYTHON` or the config file. @default .venv, then python3 */
  readonly python?: string
  /** Where `python` came from, for messages. @default "--python" */
  readonly pythonOrigin?: string
  /** Kill the job after this many ms (the `pythonTimeout` setting, in ms). */
  readonly pythonTimeoutMs?: number
  readonly signal?: AbortSignal
  readonly onProgress?: (event: PythonProgressEvent) => void
  /** Plain log lines of the job (its stdout that is not an event, and its stderr). */
  readonly onLog?: (line: string) => void
}

export interface RunToolingJobParams extends ToolingJobOptions {
  /** Job module under scripts/, e.g. `pockettts_tools.dump_golden`. */
  readonly module: string
  readonly args: readonly string[]
  /** Which modules the job needs (checked before it starts). */
  readonly needs: PythonJobKind
}

/** The tooling options out of a library function's params (so they can be passed on as one object); the upstream
 * release is not among them: each library function selects it for its command (selectUpstream) and passes it. */
export function toolingOptions(params: Omit<ToolingJobOptions, 'upstream'>): Omit<ToolingJobOptions, 'upstream'> {
  const {python, pythonOrigin, pythonTimeoutMs, signal, onProgress, onLog} = params
  return {python, pythonOrigin, pythonTimeoutMs, signal, onProgress, onLog}
}

export interface ToolingJobResult<T> {
  readonly data: T
  /** The interpreter that ran the job. */
  readonly python: string
}

/**
 * Runs one job of the Python tooling: finds the interpreter, checks that the modules the job needs are installed
 * (a typed PYTHON_MODULE_MISSING error with the fix otherwise), then runs it with progress and cancellation.
 */
export async function runToolingJob<T>(params: RunToolingJobParams): Promise<ToolingJobResult<T>> {
  const found = findPython({
    ...(params.python === undefined ? {} : {configured: params.python}),
    ...(params.pythonOrigin === undefined ? {} : {origin: params.pythonOrigin}),
    ...(params.upstream === undefined ? {} : {release: params.upstream}),
  })
  assertModulesPresent(
    await probePython({
      python: found.path,
      modules: jobModules[params.needs],
      mode: 'locate',
      ...(params.upstream === undefined ? {} : {release: params.upstream}),
    }),
  )
  const result = await runPythonJob<T>({
    python: found.path,
    module: params.module,
    args: params.upstream === undefined ? params.args : [...params.args, '--upstream', params.upstream],
    ...(params.pythonTimeoutMs === undefined ? {} : {pythonTimeoutMs: params.pythonTimeoutMs}),
    ...(params.signal === undefined ? {} : {signal: params.signal}),
    ...(params.onProgress === undefined ? {} : {onProgress: params.onProgress}),
    ...(params.onLog === undefined ? {} : {onLog: params.onLog, onStderr: params.onLog}),
  })
  return {data: result.data, python: found.path}
}
