import {isPocketTtsError, type PocketTtsError} from './pocket-tts-error.js'

export interface FormatErrorParams {
  readonly error: unknown
  /** Print the stack and the cause chain. */
  readonly verbose?: boolean
}

/** Human-readable error text for the terminal: code, message, the fix, and (verbose) the stack. */
export function formatError(params: FormatErrorParams): string {
  const {error, verbose = false} = params
  if (isPocketTtsError(error)) {
    const lines = [`Error [${error.code}]: ${error.message}`]
    if (error.hint !== undefined) lines.push(`Fix: ${error.hint}`)
    if (verbose) lines.push(...stackLines(error))
    return lines.join('\n')
  }
  const message = error instanceof Error ? error.message : String(error)
  const lines = [`Error [INTERNAL]: ${message}`]
  lines.push(verbose ? stackLines(error).join('\n') : 'Fix: this is a bug in pockettts; run again with --verbose and report the output.')
  return lines.join('\n')
}

function stackLines(error: unknown): string[] {
  const out: string[] = []
  let current: unknown = error
  let depth = 0
  while (current instanceof Error && depth < 5) {
    out.push(depth === 0 ? (current.stack ?? current.message) : `Caused by: ${current.stack ?? current.message}`)
    current = (current as Error & {cause?: unknown}).cause
    depth += 1
  }
  return out
}

/** The JSON body printed for a failure under `--json`. */
export function errorToJson(error: unknown): {error: ReturnType<PocketTtsError['toJSON']>} {
  if (isPocketTtsError(error)) return {error: error.toJSON()}
  const message = error instanceof Error ? error.message : String(error)
  return {error: {code: 'INTERNAL', message, exitCode: 1, details: {}}}
}
