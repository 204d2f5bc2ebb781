import {Flags} from '@oclif/core'
import type {ResolvedConfig} from '../config/index.js'

/**
 * `--force` and `--python` of the commands that write a folder with a Python tooling job (fixture make,
 * golden dump, golden dump-voice): spread last into the command's `static flags`.
 */
export const pythonJobFlags = {
  force: Flags.boolean({description: 'Replace --out when it exists and is not empty.'}),
  python: Flags.string({description: 'Python interpreter with the tooling (else POCKETTTS_PYTHON, .venv, python3).'}),
}

export interface PythonJobOptionsParams {
  /** The command's settings (`this.loadConfig({python: flags.python, config: flags.config})`). */
  readonly resolved: ResolvedConfig
  /** The command's Ctrl-C signal. */
  readonly signal: AbortSignal
}

/** The part of a library function's tooling options (`ToolingJobOptions`) that comes from the command. */
export interface PythonJobOptions {
  /** undefined: the library's own search (.venv, then python3). */
  readonly python: string | undefined
  readonly pythonOrigin: string
  readonly pythonTimeoutMs: number
  readonly signal: AbortSignal
}

/** Settings → tooling-job options: the interpreter and where it came from, the timeout (pythonTimeout s), Ctrl-C. */
export function pythonJobOptions(params: PythonJobOptionsParams): PythonJobOptions {
  const {config, origins} = params.resolved
  return {python: config.python, pythonOrigin: origins.python, pythonTimeoutMs: config.pythonTimeout * 1000, signal: params.signal}
}
