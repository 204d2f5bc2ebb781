import {mkdir, mkdtemp, rename, rm, stat} from 'node:fs/promises'
import {isAbsolute, join, posix, resolve} from 'node:path'
import {extract, list, type ReadEntry} from 'tar'
import {ModelError} from '../errors/index.js'
import {confinedPathProblem} from '../fs/confined-path.js'
import {hashFile} from './hash-file.js'
import {verifyManifest} from './verify-manifest.js'

export interface UnpackBundleParams {
  /** A local `.tar.gz` (or `.tar`) bundle. */
  readonly file: string
  /** The folder to unpack into: the bundle's top folder appears inside it. */
  readonly out: string
  /** Expected sha256 of the bundle file. */
  readonly sha256?: string
  readonly signal?: AbortSignal
}

export interface UnpackBundleResult {
  /** Absolute path of the unpacked folder. */
  readonly folder: string
  readonly name: string
  readonly size: number
  readonly sha256: string
  readonly files: number
  /** Files checked against the manifest's sha256s. */
  readonly verified: number
}

const SAFE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory'])

/**
 * Unpacks a bundle safely: its sha256 is checked first; every entry must lie under one top folder, with no
 * absolute path, no `..`, no link leaving the folder and no device or FIFO (any such entry refuses the whole
 * bundle); it is extracted into a temporary folder, checked against its manifest.json, and only then moved
 * to `<out>/<top>`, which must not exist yet.
 */
export async function unpackBundle(params: UnpackBundleParams): Promise<UnpackBundleResult> {
  const file = resolve(params.file)
  const hash = await hashFile({path: file, ...(params.signal === undefined ? {} : {signal: params.signal})})
  if (params.sha256 !== undefined && hash.sha256 !== params.sha256.toLowerCase()) {
    throw new ModelError({
      code: 'BUNDLE_CHECKSUM_MISMATCH',
      exitCode: 1,
      message: `The bundle ${file} has sha256 ${hash.sha256}, not the ${params.sha256} given with --sha256.`,
      hint: 'Download it again, or check the --sha256 value you were given with it.',
      details: {file, expected: params.sha256, actual: hash.sha256},
    })
  }
  const entries = await readEntries(file)
  const problems = entries.flatMap(entryProblem)
  const tops = new Set(entries.map((e) => topOf(e.path)))
  if (problems.length === 0 && tops.size !== 1)
    problems.push(`entries must sit under one top folder (found ${[...tops].slice(0, 3).join(', ') || 'none'})`)
  if (problems.length > 0) {
    throw new ModelError({
      code: 'BUNDLE_UNSAFE',
      exitCode: 1,
      message: `Refused the bundle ${file}: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}.`,
      hint: 'Only unpack bundles made by `pockettts model pack`; this one could write outside the target folder.',
      details: {file, problems},
    })
  }
  const name = [...tops][0]!
  const out = resolve(params.out)
  const target = join(out, name)
  if (await exists(target)) {
    throw new ModelError({
      code: 'BUNDLE_TARGET_EXISTS',
      message: `${target} already exists.`,
      hint: 'Delete it or choose another --out; unpacking never overwrites a folder.',
      details: {folder: target},
    })
  }
  await mkdir(out, {recursive: true})
  const temp = await mkdtemp(join(out, '.pockettts-unpack-'))
  try {
    const warnings: string[] = []
    await extract({file, cwd: temp, strict: true, preservePaths: false, onwarn: (code, message) => warnings.push(`${code}: ${message}`)})
    if (warnings.length > 0) {
      throw new ModelError({
        code: 'BUNDLE_UNSAFE',
        exitCode: 1,
        message: `Refused the bundle ${file}: ${warnings.join('; ')}.`,
        hint: 'Only unpack bundles made by `pockettts model pack`.',
      })
    }
    const manifest = await verifyManifest({folder: join(temp, name), ...(params.signal === undefined ? {} : {signal: params.signal})})
    if (!manifest.ok) {
      const bad = manifest.checks.filter((c) => c.status !== 'ok').map((c) => `${c.file} (${c.status})`)
      throw new ModelError({
        code: 'MANIFEST_MISMATCH',
        exitCode: 1,
        message: `The bundle ${file} does not match its manifest.json: ${bad.join(', ')}.`,
        hint: 'The bundle is damaged or was altered; get it again from its source.',
        details: {files: bad},
      })
    }
    await rename(join(temp, name), target)
    return {
      folder: target,
      name,
      size: hash.size,
      sha256: hash.sha256,
      files: entries.filter((e) => e.type !== 'Directory').length,
      verified: manifest.checks.length,
    }
  } finally {
    await rm(temp, {recursive: true, force: true})
  }
}

interface EntryInfo {
  readonly path: string
  readonly type: string
  readonly linkpath?: string
}

async function readEntries(file: string): Promise<EntryInfo[]> {
  const entries: EntryInfo[] = []
  try {
    await list({
      file,
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        entries.push({path: entry.path, type: entry.type, ...(entry.linkpath === undefined ? {} : {linkpath: entry.linkpath})})
      },
    })
  } catch (error) {
    throw new ModelError({
      code: 'BUNDLE_INVALID',
      exitCode: 1,
      message: `${file} is not a readable tar bundle: ${(error as Error).message}.`,
      hint: 'Pass a .tar.gz made by `pockettts model pack`.',
      cause: error,
    })
  }
  return entries
}

function entryProblem(entry: EntryInfo): string[] {
  const path = entry.path.replace(/\\/g, '/')
  if (entry.type === 'ExtendedHeader' || entry.type === 'GlobalExtendedHeader') return []
  const problem = confinedPathProblem(path)
  if (problem !== undefined)
    return [`${problem.includes('absolute') ? 'absolute path' : 'path'} ${entry.path} leaves the folder (${problem})`]
  if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
    const target = entry.linkpath ?? ''
    // Hard links name a path from the archive root; symbolic links are relative to the link's folder.
    const resolved = entry.type === 'Link' ? posix.normalize(target) : posix.normalize(posix.join(posix.dirname(path), target))
    if (isAbsolute(target) || resolved.startsWith('..') || topOf(resolved) !== topOf(path))
      return [`link ${entry.path} -> ${target} points outside the folder`]
    return []
  }
  if (!SAFE_TYPES.has(entry.type)) return [`${entry.type} entry ${entry.path}`]
  return []
}

function topOf(path: string): string {
  return path.replace(/\\/g, '/').replace(/^\.\//, '').split('/')[0] ?? ''
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  )
}
