import {existsSync, statSync} from 'node:fs'
import {resolve} from 'node:path'
import {UsageError} from '../errors/index.js'

export interface AssertInputFileParams {
  readonly path: string
  /** Error code when the file is missing, e.g. `VOICE_NOT_FOUND`. */
  readonly code: string
  /** What the file is, for the message, e.g. "voice file". */
  readonly what: string
  readonly hint: string
}

/** Throws a usage error when an input file does not exist (or is a folder); returns its absolute path. */
export function assertInputFile(params: AssertInputFileParams): string {
  const path = resolve(params.path)
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new UsageError({
      code: params.code,
      message: existsSync(path) ? `The ${params.what} ${path} is a folder, not a file.` : `The ${params.what} ${path} does not exist.`,
      hint: params.hint,
      details: {path},
    })
  }
  return path
}
