import {Config, run} from '@oclif/core'
import {execa} from 'execa'
import {join} from 'node:path'
import {stripVTControlCharacters} from 'node:util'
import {packageRoot} from '../../src/config/project-paths.js'

export interface CliRun {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

export interface RunCliOptions {
  /** Added to the environment for this run. */
  readonly env?: Record<string, string>
  readonly cwd?: string
  /** Only with `spawn` (an in-process run is bounded by the test's own timeout). */
  readonly timeoutMs?: number
  /**
   * Run the built `bin/run.js` as its own process, as a user does. Needed for what only a process has: signals,
   * the launcher's shebang, a clean module state. Default: the same oclif commands (dist/, `npm test` builds
   * first) run in this test process, which costs no Node start-up.
   */
  readonly spawn?: boolean
}

/** Runs a `pockettts` command and returns its exit code and output. */
export async function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliRun> {
  return options.spawn === true ? spawnCli(args, options) : runInProcess(args, options)
}

async function spawnCli(args: readonly string[], options: RunCliOptions): Promise<CliRun> {
  const result = await execa(process.execPath, [join(packageRoot(), 'bin', 'run.js'), ...args], {
    reject: false,
    env: {...options.env},
    cwd: options.cwd ?? packageRoot(),
    timeout: options.timeoutMs ?? 600_000,
    stdin: 'ignore',
  })
  return {exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr}
}

let config: Promise<Config> | undefined
let queue: Promise<unknown> = Promise.resolve()

/** One in-process run at a time: a run owns process.stdout/stderr, process.env, the working folder and exitCode. */
async function runInProcess(args: readonly string[], options: RunCliOptions): Promise<CliRun> {
  const next = queue.then(async () => runOnce(args, options))
  queue = next.catch(() => undefined)
  return next
}

type Write = typeof process.stdout.write

async function runOnce(args: readonly string[], options: RunCliOptions): Promise<CliRun> {
  config ??= Config.load({root: packageRoot()})
  const loaded = await config
  const out: string[] = []
  const err: string[] = []
  const capture =
    (sink: string[]): Write =>
    (chunk: string | Uint8Array, encoding?: unknown, callback?: unknown): boolean => {
      sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
      const done = typeof encoding === 'function' ? encoding : callback
      if (typeof done === 'function') (done as () => void)()
      return true
    }
  const saved = {
    stdout: process.stdout.write,
    stderr: process.stderr.write,
    stdoutTty: process.stdout.isTTY,
    stderrTty: process.stderr.isTTY,
    cwd: process.cwd(),
    env: {...process.env},
  }
  process.exitCode = undefined
  Object.assign(process.env, options.env)
  process.chdir(options.cwd ?? packageRoot())
  // as a spawned CLI whose output goes to a pipe
  process.stdout.isTTY = false
  process.stderr.isTTY = false
  process.stdout.write = capture(out)
  process.stderr.write = capture(err)
  let exitCode: number
  try {
    await run([...args], loaded)
    exitCode = typeof process.exitCode === 'number' ? process.exitCode : Number(process.exitCode ?? 0)
  } catch (error) {
    const failure = error as Error & {oclif?: {exit?: number}}
    exitCode = failure.oclif?.exit ?? 1
    if (exitCode !== 0) err.push(`${failure.message}\n`)
  } finally {
    process.stdout.write = saved.stdout
    process.stderr.write = saved.stderr
    process.stdout.isTTY = saved.stdoutTty
    process.stderr.isTTY = saved.stderrTty
    process.chdir(saved.cwd)
    for (const key of Object.keys(process.env)) if (!(key in saved.env)) delete process.env[key]
    Object.assign(process.env, saved.env)
    process.exitCode = undefined
  }
  const text = (parts: string[]): string => stripVTControlCharacters(parts.join('')).replace(/\n$/, '')
  return {exitCode, stdout: text(out), stderr: text(err)}
}
