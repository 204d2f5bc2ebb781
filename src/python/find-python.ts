import {accessSync, constants, existsSync, statSync} from 'node:fs'
import {delimiter, isAbsolute, join, resolve} from 'node:path'
import {PrerequisiteError} from '../errors/index.js'
import {baseRelease, releaseVenvPython, upstreamRelease, type UpstreamRelease} from '../upstream/upstream-releases.js'

export interface FindPythonParams {
  /** An interpreter named by `--python`, `POCKETTTS_PYTHON` or the config file. */
  readonly configured?: string
  /** Human name of where `configured` came from, used in messages. @default "--python" */
  readonly origin?: string
  /** @default process.env.PATH */
  readonly pathEnv?: string
  /**
   * The upstream release the interpreter must run: its venv (contracts/upstreams.json) is the default, and its
   * environment variable (e.g. POCKETTTS_PYTHON_4_0_1) overrides a `configured` that did not come from --python.
   * @default the base release (.venv)
   */
  readonly release?: UpstreamRelease
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** @default the release's venv interpreter */
  readonly venvPython?: string
}

export interface FoundPython {
  readonly path: string
  /** How it was found: `configured`, `venv` or `path`. */
  readonly via: 'configured' | 'venv' | 'path'
  readonly origin: string
}

export const SETUP_HINT =
  'Run `npm run setup:python` to create one venv per pinned upstream release (.venv for 2.1.0, ' +
  '.venv-4.0.1, ...), or pass --python PATH (or set POCKETTTS_PYTHON_<release>, e.g. ' +
  'POCKETTTS_PYTHON_4_0_1) to an interpreter that has it.'

/**
 * Finds the interpreter of one upstream release: --python > the release's own variable (POCKETTTS_PYTHON_<release>)
 * > POCKETTTS_PYTHON or the config file > the release's project venv > python3 on PATH.
 */
export function findPython(params: FindPythonParams = {}): FoundPython {
  const release = params.release ?? baseRelease()
  const info = upstreamRelease(release)
  const releaseEnv = (params.env ?? process.env)[info.pythonEnv]
  const fromFlag = params.configured !== undefined && (params.origin ?? '--python') === '--python'
  const useReleaseEnv = !fromFlag && releaseEnv !== undefined && releaseEnv !== ''
  const configured = useReleaseEnv ? releaseEnv : params.configured
  const origin = useReleaseEnv ? info.pythonEnv : (params.origin ?? '--python')
  if (configured !== undefined) {
    const path = resolveExecutable(configured, params.pathEnv ?? process.env['PATH'] ?? '')
    if (path === undefined) {
      throw new PrerequisiteError({
        code: 'PYTHON_NOT_FOUND',
        message: `No Python interpreter at "${configured}" (from ${origin}).`,
        hint: `Point ${origin} at an existing interpreter, or unset it and ${SETUP_HINT.charAt(0).toLowerCase()}${SETUP_HINT.slice(1)}`,
        details: {configured, origin, release},
      })
    }
    return {path, via: 'configured', origin}
  }
  const venv = params.venvPython ?? releaseVenvPython(release)
  if (isExecutable(venv)) return {path: venv, via: 'venv', origin: `the project ${info.venv}`}
  const onPath = resolveExecutable('python3', params.pathEnv ?? process.env['PATH'] ?? '')
  if (onPath !== undefined) return {path: onPath, via: 'path', origin: 'python3 on PATH'}
  throw new PrerequisiteError({
    code: 'PYTHON_NOT_FOUND',
    message: 'No Python interpreter found (no --python, no POCKETTTS_PYTHON, no .venv/, no python3 on PATH).',
    hint: SETUP_HINT,
  })
}

function resolveExecutable(name: string, pathEnv: string): string | undefined {
  if (name.includes('/') || isAbsolute(name)) {
    const full = resolve(name)
    return isExecutable(full) ? full : undefined
  }
  for (const dir of pathEnv.split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, name)
    if (isExecutable(candidate)) return candidate
  }
  return undefined
}

function isExecutable(path: string): boolean {
  if (!existsSync(path)) return false
  try {
    if (!statSync(path).isFile()) return false
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}
