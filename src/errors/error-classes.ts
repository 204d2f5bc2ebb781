import {ExitCode, PocketTtsError, type PocketTtsErrorParams} from './pocket-tts-error.js'

type Params = Omit<PocketTtsErrorParams, 'exitCode'> & {readonly exitCode?: PocketTtsErrorParams['exitCode']}

/** The call itself is wrong: flags, arguments, input text or files. */
export class UsageError extends PocketTtsError {
  constructor(params: Params) {
    super({exitCode: ExitCode.usage, ...params})
  }
}
UsageError.prototype.name = 'UsageError'

/** A configuration file or value is invalid. */
export class ConfigError extends PocketTtsError {
  constructor(params: Params) {
    super({exitCode: ExitCode.usage, ...params})
  }
}
ConfigError.prototype.name = 'ConfigError'

/** Something the work needs is not installed or not present. */
export class PrerequisiteError extends PocketTtsError {
  constructor(params: Params) {
    super({exitCode: ExitCode.prerequisite, ...params})
  }
}
PrerequisiteError.prototype.name = 'PrerequisiteError'

/** The Python tooling failed while running a job. */
export class PythonJobError extends PocketTtsError {
  constructor(params: Params) {
    super({exitCode: ExitCode.runtime, ...params})
  }
}
PythonJobError.prototype.name = 'PythonJobError'

/** A model folder, manifest or graph is missing, corrupt or does not fit. */
export class ModelError extends PocketTtsError {
  constructor(params: Params) {
    super({exitCode: ExitCode.prerequisite, ...params})
  }
}
ModelError.prototype.name = 'ModelError'

/** The work was cancelled (Ctrl-C, AbortSignal) or timed out. */
export class CancelledError extends PocketTtsError {
  constructor(params: Params) {
    super({exitCode: ExitCode.cancelled, ...params})
  }
}
CancelledError.prototype.name = 'CancelledError'

/** A file named by a manifest, config or voice catalogue would lie outside its folder (`..`, absolute, symlink). */
export class UnsafePathError extends PocketTtsError {
  constructor(params: Params) {
    super({exitCode: ExitCode.usage, ...params})
  }
}
UnsafePathError.prototype.name = 'UnsafePathError'
