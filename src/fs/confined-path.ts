import {realpathSync} from 'node:fs'
import {isAbsolute, join, relative, resolve, win32} from 'node:path'
import {UnsafePathError} from '../errors/index.js'

/**
 * Why a file name taken from untrusted input (a manifest, a config, a voice catalogue, a bundle) may not be
 * used inside its folder, or undefined when it may: it must be a non-empty relative path with `/` separators,
 * no `..` segment, no absolute or drive-letter form, no backslash and no NUL.
 */
export function confinedPathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string' || path === '') return 'it is empty or not a string'
  if (path.includes('\0')) return 'it holds a NUL character'
  if (path.includes('\\')) return 'it holds a backslash (use / between folders)'
  if (isAbsolute(path) || win32.isAbsolute(path) || /^[a-zA-Z]:/.test(path)) return 'it is an absolute path'
  if (path.split('/').includes('..')) return 'it climbs out of the folder with ..'
  return undefined
}

export interface ConfinedPathParams {
  /** The folder every named file must stay inside. */
  readonly root: string
  /** The file name as the untrusted input wrote it. */
  readonly path: unknown
  /** Who named it, for the message: e.g. `manifest.json files[3].path`. */
  readonly namedBy: string
}

/**
 * The one rule for file names read from untrusted input: refuses (`UNSAFE_PATH`) a name that is absolute,
 * climbs out with `..`, or (when the file exists) resolves through a symlink to a place outside `root`.
 * Only names and links are examined; nothing is read. Returns the absolute path inside `root`.
 */
export function resolveConfinedPath(params: ConfinedPathParams): string {
  const {root, path, namedBy} = params
  const problem = confinedPathProblem(path)
  if (problem !== undefined) throw unsafe(root, path, namedBy, problem)
  const target = join(resolve(root), path as string)
  const real = realpathOrUndefined(target)
  if (real !== undefined) {
    const realRoot = realpathOrUndefined(resolve(root)) ?? resolve(root)
    const rel = relative(realRoot, real)
    if (rel === '..' || rel.startsWith(`..${'/'}`) || rel.startsWith('..\\') || isAbsolute(rel)) {
      throw unsafe(root, path, namedBy, `it resolves through a symbolic link to ${real}, outside the folder`)
    }
  }
  return target
}

/** `resolveConfinedPath` for several names at once: every name is checked before any is used. */
export function resolveConfinedPaths(root: string, names: ReadonlyArray<{readonly path: unknown; readonly namedBy: string}>): string[] {
  return names.map((n) => resolveConfinedPath({root, path: n.path, namedBy: n.namedBy}))
}

function realpathOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path)
  } catch {
    return undefined
  }
}

function unsafe(root: string, path: unknown, namedBy: string, why: string): UnsafePathError {
  return new UnsafePathError({
    code: 'UNSAFE_PATH',
    message: `${namedBy} names ${JSON.stringify(path)}, which is refused: ${why}. Files must stay inside ${resolve(root)}.`,
    hint: 'Refusing to read it. The file that names it is damaged or hostile: get the model, bundle or voices folder again from its source.',
    details: {root: resolve(root), path: typeof path === 'string' ? path : String(path), namedBy},
  })
}
