import {Command, Flags, type Interfaces} from '@oclif/core'
import {resolveConfig, type ConfigKey, type ResolvedConfig} from '../config/index.js'
import {errorToJson, ExitCode, formatError, PocketTtsError, UsageError} from '../errors/index.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof PocketTtsCommand)['baseFlags'] & T['flags']>

/**
 * Base of every pockettts command: `--json`, `--verbose`, `--config`, typed error output with stable codes
 * and exit codes, and an AbortSignal that Ctrl-C trips (a second Ctrl-C exits at once).
 */
export abstract class PocketTtsCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    verbose: Flags.boolean({description: 'Print stack traces and the full output of child processes.', helpGroup: 'GLOBAL'}),
    config: Flags.string({
      description: 'Config file (YAML or JSON) with settings such as python, modelsDir, model, threads.',
      helpGroup: 'GLOBAL',
      env: 'POCKETTTS_CONFIG',
    }),
  }

  private readonly abortController = new AbortController()
  private sigintCount = 0

  /** Aborted on Ctrl-C: pass it to every long-running library call. */
  protected get signal(): AbortSignal {
    return this.abortController.signal
  }

  protected get verbose(): boolean {
    return this.argv.includes('--verbose') || Boolean(process.env['DEBUG'])
  }

  override async init(): Promise<void> {
    await super.init()
    process.on('SIGINT', this.onSigint)
    process.on('SIGTERM', this.onSigint)
  }

  override async finally(error: Error | undefined): Promise<unknown> {
    process.off('SIGINT', this.onSigint)
    process.off('SIGTERM', this.onSigint)
    return super.finally(error)
  }

  private readonly onSigint = (): void => {
    this.sigintCount += 1
    if (this.sigintCount > 1) process.exit(ExitCode.cancelled)
    this.onCancelRequested()
    this.abortController.abort()
  }

  /** Tells the user that Ctrl-C was seen (commands with structured logs say it their way). */
  protected onCancelRequested(): void {
    this.logToStderr('Cancelling… (press Ctrl-C again to quit at once)')
  }

  /** Resolves settings: flags > POCKETTTS_* environment > --config file > defaults. */
  protected async loadConfig(flags: Partial<Record<ConfigKey, unknown>> & {config?: string | undefined}): Promise<ResolvedConfig> {
    const {config, ...rest} = flags
    const picked: Partial<Record<ConfigKey, unknown>> = {}
    for (const [key, value] of Object.entries(rest)) picked[key as ConfigKey] = value
    return resolveConfig({flags: picked, ...(config === undefined ? {} : {configFile: config})})
  }

  protected override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<void> {
    const known = toKnownError(error)
    process.exitCode = typeof known === 'object' && known !== null && 'exitCode' in known ? Number(known.exitCode) : 1
    if (this.jsonEnabled()) {
      this.logJson(errorToJson(known))
      return
    }
    process.stderr.write(`${formatError({error: known, verbose: this.verbose})}\n`)
  }
}

/** How oclif wraps an error thrown while parsing a flag: `Parsing --NAME \n\t<message>\nSee more help with --help`. */
const FLAG_PARSE_WRAPPER = /^Parsing (--\S+) \n\t([\s\S]*?)\nSee more help with --help$/

/**
 * oclif's own parse errors (unknown flag, missing argument) become usage errors with a code; a flag parser's
 * error keeps its own message (oclif prefixes `Parsing --flag`), and oclif's keep the line that says why.
 */
function toKnownError(error: Error & {oclif?: {exit?: number}}): unknown {
  const wrapped = FLAG_PARSE_WRAPPER.exec(error.message)
  if (error instanceof PocketTtsError) {
    if (wrapped !== null) error.message = wrapped[2] ?? error.message
    return error
  }
  if (error.oclif !== undefined || wrapped !== null) {
    if ((error as {code?: string}).code === 'EEXIT') return error
    return new UsageError({
      code: 'USAGE',
      message: wrapped === null ? oclifReason(error.message) : `${wrapped[1] ?? ''}: ${wrapped[2] ?? ''}`,
      hint: 'See the command help with --help.',
      cause: error,
    })
  }
  return error
}

/** The line of an oclif error that says why: its first, unless that is only a heading ("The following error occurred:"). */
function oclifReason(message: string): string {
  const lines = message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('See more help'))
  const first = lines[0] ?? message
  return first.endsWith(':') && lines[1] !== undefined ? lines.slice(1).join('; ') : first
}
