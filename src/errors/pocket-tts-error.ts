import contract from '../../contracts/exit-codes.json' with {type: 'json'}

type ExitCodeName = keyof typeof contract.exitCodes

/** Exit codes shared by every command and the Python jobs: `contracts/exit-codes.json` says what each means. */
export const ExitCode = Object.fromEntries(Object.entries(contract.exitCodes).map(([name, entry]) => [name, entry.code])) as Readonly<
  Record<ExitCodeName, number>
>

export type ExitCodeValue = number

export interface PocketTtsErrorParams {
  /** Stable machine-readable code, e.g. `PYTHON_NOT_FOUND`. */
  readonly code: string
  /** What went wrong, in one sentence. */
  readonly message: string
  /** What the user should do next. */
  readonly hint?: string
  /** @default ExitCode.failure */
  readonly exitCode?: ExitCodeValue
  /** Structured facts for `--json` output. */
  readonly details?: Readonly<Record<string, unknown>>
  readonly cause?: unknown
}

/** Base of every error the library throws on purpose. */
export class PocketTtsError extends Error {
  readonly code: string
  readonly hint: string | undefined
  readonly exitCode: ExitCodeValue
  readonly details: Readonly<Record<string, unknown>>

  constructor(params: PocketTtsErrorParams) {
    super(params.message, params.cause === undefined ? undefined : {cause: params.cause})
    this.code = params.code
    this.hint = params.hint
    this.exitCode = params.exitCode ?? ExitCode.failure
    this.details = params.details ?? {}
  }

  /** The JSON body printed by `--json` on failure. */
  toJSON(): {code: string; message: string; hint?: string; exitCode: number; details: Record<string, unknown>} {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : {hint: this.hint}),
      exitCode: this.exitCode,
      details: {...this.details},
    }
  }
}
PocketTtsError.prototype.name = 'PocketTtsError'

export function isPocketTtsError(value: unknown): value is PocketTtsError {
  return value instanceof PocketTtsError
}
