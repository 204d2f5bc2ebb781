import {accessSync, constants, existsSync, statSync} from 'node:fs'
import {delimiter, isAbsolute, join, resolve} from 'node:path'
import {PrerequisiteError} from '../errors/index.js'
import {projectVenvPython} from '../config/project-paths.js'

export interface FindPythonParams {
  /** An interpreter named by `--python`, `POCKETTTS_PYTHON` or the config file. */
  readonly configured?: string
  /** Human name of where `configured` came from, used in messages. @default "--python" */
  readonly origin?: string
  /** @default process.env.PATH */
  readonly pathEnv?: string
  /** @default the project's .venv/bin/python */
  readonly venvPython?: string
}

export interface FoundPython {
  readonly path: string
  /** How it was found: `configured`, `venv` or `path`. */
  readonly via: 'configured' | 'venv' | 'path'
  readonly origin: string
}

export const SETUP_HINT =
  'Run `npm run setup:python` to create .venv/ with the pinned tooling, or pass --python PATH (or set POCKETTTS_PYTHON) to an interpreter that has it.'

/** Finds the interpreter: configured (flag/env/config) > the project's .venv > python3 on PATH. */
export function findPython(params: FindPythonParams = {}): FoundPython {
  const origin = params.origin ?? '--python'
  if (params.configured !== undefined) {
    const path = resolveExecutable(params.configured, params.pathEnv ?? process.env['PATH'] ?? '')
    if (path === undefined) {
      throw new PrerequisiteError({
        code: 'PYTHON_NOT_FOUND',
        message: `No Python interpreter at "${params.configured}" (from ${origin}).`,
        hint: `Point ${origin} at an existing interpreter, or unset it and ${SETUP_HINT.charAt(0).toLowerCase()}${SETUP_HINT.slice(1)}`,
        details: {configured: params.configured, origin},
      })
    }
    return {path, via: 'configured', origin}
  }
  const venv = params.venvPython ?? projectVenvPython()
  if (isExecutable(venv)) return {path: venv, via: 'venv', origin: 'the project .venv'}
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
