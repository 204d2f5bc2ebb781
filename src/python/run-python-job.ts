import {execa, type ExecaError} from 'execa'
import {delimiter} from 'node:path'
import {CancelledError, ModelError, PocketTtsError, PrerequisiteError, PythonJobError, UsageError} from '../errors/index.js'
import {scriptsDir} from '../config/project-paths.js'
import {SETUP_HINT} from './find-python.js'

/** A progress line from a job: `{"event":"progress","stage":...,"done":...,"total":...}` on stdout. */
export interface PythonProgressEvent {
  readonly event: 'progress'
  readonly stage: string
  readonly message?: string
  readonly done?: number
  readonly total?: number
}

/** The error a job reports on purpose before it exits non-zero. */
export interface PythonErrorEvent {
  readonly event: 'error'
  readonly code: string
  readonly kind: 'usage' | 'prerequisite' | 'model' | 'runtime'
  readonly message: string
  readonly hint?: string
}

/** The job's result, printed once on success. */
export interface PythonResultEvent {
  readonly event: 'result'
  readonly data: unknown
}

export type PythonJobEvent = PythonProgressEvent | PythonErrorEvent | PythonResultEvent

export interface RunPythonJobParams {
  readonly python: string
  /** Module under scripts/, run as `python -m MODULE`, e.g. `pockettts_tools.make_fixture`. */
  readonly module: string
  readonly args?: readonly string[]
  /** @default process.cwd() */
  readonly cwd?: string
  /** Kill the child after this many ms (the `pythonTimeout` setting, in ms). @default no limit */
  readonly pythonTimeoutMs?: number
  /** Abort kills the child (SIGTERM, then SIGKILL after 3 s). */
  readonly signal?: AbortSignal
  /** Progress lines, as they arrive. */
  readonly onProgress?: (event: PythonProgressEvent) => void
  /** Any other stdout line (plain log output of the job). */
  readonly onLog?: (line: string) => void
  /** Each stderr line, as it arrives (kept for error messages either way). */
  readonly onStderr?: (line: string) => void
  /** Extra environment for the child. */
  readonly env?: Readonly<Record<string, string>>
}

export interface PythonJobResult<T> {
  readonly data: T
  readonly stderr: string
}

const STDERR_TAIL_LINES = 25

/** Runs one Python job of scripts/ with execa: streams progress, keeps stderr, honours cancel and timeout. */
export async function runPythonJob<T = unknown>(params: RunPythonJobParams): Promise<PythonJobResult<T>> {
  const stderrLines: string[] = []
  let errorEvent: PythonErrorEvent | undefined
  let resultEvent: PythonResultEvent | undefined
  const pythonPath = [scriptsDir(), process.env['PYTHONPATH']].filter(Boolean).join(delimiter)
  const child = execa(params.python, ['-u', '-m', params.module, ...(params.args ?? [])], {
    cwd: params.cwd ?? process.cwd(),
    env: {PYTHONPATH: pythonPath, PYTHONUNBUFFERED: '1', ...params.env},
    ...(params.pythonTimeoutMs === undefined ? {} : {timeout: params.pythonTimeoutMs}),
    ...(params.signal === undefined ? {} : {cancelSignal: params.signal}),
    forceKillAfterDelay: 3000,
    stdin: 'ignore',
    buffer: false,
  })
  const onStdoutLine = (line: string): void => {
    const event = parseEvent(line)
    if (event === undefined) params.onLog?.(line)
    else if (event.event === 'progress') params.onProgress?.(event)
    else if (event.event === 'error') errorEvent = event
    else resultEvent = event
  }
  const onStderrLine = (line: string): void => {
    stderrLines.push(line)
    if (stderrLines.length > 400) stderrLines.splice(0, stderrLines.length - 400)
    params.onStderr?.(line)
  }
  const stdoutDone = forEachLine(child.stdout, onStdoutLine)
  const stderrDone = forEachLine(child.stderr, onStderrLine)
  try {
    await child
  } catch (error) {
    await Promise.allSettled([stdoutDone, stderrDone])
    throw toJobError(params, error as ExecaError, errorEvent, stderrLines)
  }
  await Promise.all([stdoutDone, stderrDone])
  return {data: (resultEvent?.data ?? null) as T, stderr: stderrLines.join('\n')}
}

async function forEachLine(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): Promise<void> {
  if (stream === null) return
  let pending = ''
  for await (const chunk of stream) {
    pending += chunk.toString()
    let index = pending.indexOf('\n')
    while (index >= 0) {
      onLine(pending.slice(0, index).replace(/\r$/, ''))
      pending = pending.slice(index + 1)
      index = pending.indexOf('\n')
    }
  }
  if (pending !== '') onLine(pending)
}

function parseEvent(line: string): PythonJobEvent | undefined {
  if (!line.startsWith('{')) return undefined
  try {
    const value = JSON.parse(line) as {event?: unknown}
    if (value.event === 'progress' || value.event === 'error' || value.event === 'result') return value as PythonJobEvent
  } catch {
    // a log line that happens to start with "{"
  }
  return undefined
}

function toJobError(
  params: RunPythonJobParams,
  error: ExecaError,
  event: PythonErrorEvent | undefined,
  stderrLines: readonly string[],
): PocketTtsError {
  const job = params.module.replace(/^pockettts_tools\./, '')
  if (error.isCanceled === true) {
    return new CancelledError({code: 'CANCELLED', message: `The Python job ${job} was cancelled.`, cause: error})
  }
  if (error.timedOut === true) {
    return new CancelledError({
      code: 'PYTHON_TIMEOUT',
      message: `The Python job ${job} did not finish within ${Math.round((params.pythonTimeoutMs ?? 0) / 1000)} s and was killed.`,
      hint: 'Raise the limit with POCKETTTS_PYTHON_TIMEOUT (seconds), or check what the job was doing with --verbose.',
      cause: error,
    })
  }
  if ((error as {code?: string}).code === 'ENOENT') {
    return new PrerequisiteError({
      code: 'PYTHON_NOT_FOUND',
      message: `The Python interpreter ${params.python} does not exist.`,
      hint: SETUP_HINT,
      cause: error,
    })
  }
  if (event !== undefined) {
    const ErrorClass = {usage: UsageError, prerequisite: PrerequisiteError, model: ModelError, runtime: PythonJobError}[event.kind]
    return new ErrorClass({
      code: event.code,
      message: event.message,
      ...(event.hint === undefined ? {} : {hint: event.hint}),
      details: {job},
      cause: error,
    })
  }
  const tail = stderrLines.slice(-STDERR_TAIL_LINES).join('\n')
  return new PythonJobError({
    code: 'PYTHON_JOB_FAILED',
    message: `The Python job ${job} failed (${error.signal === undefined ? `exit code ${error.exitCode}` : `signal ${error.signal}`}).${tail === '' ? '' : `\n--- last lines of its stderr ---\n${tail}`}`,
    hint: 'Read the stderr excerpt above; run with --verbose for the whole output.',
    details: {job, exitCode: error.exitCode, signal: error.signal, stderrTail: tail},
    cause: error,
  })
}
