import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'
import {CancelledError, PrerequisiteError, PythonJobError, UsageError} from '../../src/errors/index.js'
import {runPythonJob, type PythonProgressEvent} from '../../src/python/index.js'

const fixtures = join(packageRoot(), 'fixtures', 'python')
const python = 'python3'
const env = {PYTHONPATH: fixtures}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function waitFor(predicate: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('runPythonJob', () => {
  it('streams progress events and logs, and returns the result', async () => {
    const progress: PythonProgressEvent[] = []
    const logs: string[] = []
    const r = await runPythonJob<{answer: number}>({
      python,
      module: 'progress_job',
      env,
      onProgress: (e) => progress.push(e),
      onLog: (l) => logs.push(l),
    })
    expect(r.data).toEqual({answer: 42})
    expect(progress.map((p) => p.done)).toEqual([1, 2])
    expect(logs).toEqual(['a plain log line'])
  })

  it('a non-zero exit becomes PYTHON_JOB_FAILED with the tail of stderr', async () => {
    const error = await runPythonJob({python, module: 'fail_job', env}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PythonJobError)
    const e = error as PythonJobError
    expect(e.code).toBe('PYTHON_JOB_FAILED')
    expect(e.message).toContain('exit code 3')
    expect(e.message).toContain('ValueError: the real reason is here')
    expect(e.message).not.toContain('noise line 0\n')
  })

  it('a structured error event becomes the typed error it names', async () => {
    const error = await runPythonJob({python, module: 'error_event_job', env}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).code).toBe('EMPTY_TEXT')
    expect((error as UsageError).hint).toBe('Pass some text.')
  })

  it('a timeout kills the child and says so', async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'pockettts-py-')), 'pid')
    const error = await runPythonJob({python, module: 'slow_job', args: [pidFile], env, pythonTimeoutMs: 1500}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CancelledError)
    expect((error as CancelledError).code).toBe('PYTHON_TIMEOUT')
    const pid = Number(readFileSync(pidFile, 'utf8'))
    await waitFor(() => !alive(pid))
    expect(alive(pid)).toBe(false)
  })

  it('aborting the signal kills the child', async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'pockettts-py-')), 'pid')
    const controller = new AbortController()
    const running = runPythonJob({python, module: 'slow_job', args: [pidFile], env, signal: controller.signal}).catch((e: unknown) => e)
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '')
    controller.abort()
    const error = await running
    expect((error as CancelledError).code).toBe('CANCELLED')
    const pid = Number(readFileSync(pidFile, 'utf8'))
    await waitFor(() => !alive(pid))
  })

  it('a missing interpreter is PYTHON_NOT_FOUND with the set-up command', async () => {
    const error = await runPythonJob({python: '/nonexistent/python', module: 'progress_job', env}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PrerequisiteError)
    expect((error as PrerequisiteError).code).toBe('PYTHON_NOT_FOUND')
    expect((error as PrerequisiteError).hint).toContain('npm run setup:python')
  })
})
