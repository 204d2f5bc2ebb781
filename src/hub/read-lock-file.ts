import {readFile} from 'node:fs/promises'
import {ModelError} from '../errors/index.js'
import {isUpstreamRelease, type UpstreamRelease} from '../upstream/upstream-releases.js'
import {LOCK_FORMAT, type LockFile, type LockedBundle, type LockedGeneratedFile, type LockedHubFile} from './lock-file.js'

export interface ReadLockFileParams {
  readonly path: string
}

/** Reads and validates a lock file; `null` when there is none. */
export async function readLockFile(params: ReadLockFileParams): Promise<LockFile | null> {
  let text: string
  try {
    text = await readFile(params.path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
  const invalid = (why: string, cause?: unknown): ModelError =>
    new ModelError({
      code: 'LOCK_INVALID',
      message: `The lock file ${params.path} is not valid: ${why}.`,
      hint: 'Restore it from version control, or delete it and download again (every file is then fetched and hashed afresh).',
      details: {lockFile: params.path},
      cause,
    })
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw invalid((error as Error).message, error)
  }
  if (!isRecord(raw) || raw['format'] !== LOCK_FORMAT) throw invalid(`"format" must be "${LOCK_FORMAT}"`)
  const files = arrayOf(raw['files'], 'files', isHubFile, invalid).map(withUpstream)
  const generated = arrayOf(raw['generated'] ?? [], 'generated', isGeneratedFile, invalid).map(withUpstream)
  const bundles = arrayOf(raw['bundles'] ?? [], 'bundles', isBundle, invalid)
  return {format: LOCK_FORMAT, files, generated, bundles}
}

function arrayOf<T>(value: unknown, name: string, check: (v: unknown) => v is T, invalid: (why: string) => Error): T[] {
  if (!Array.isArray(value)) throw invalid(`"${name}" must be an array`)
  value.forEach((item, i) => {
    if (!check(item)) throw invalid(`${name}[${i}] lacks a field or has a wrong type`)
  })
  return value as T[]
}

/** Locks written before 4.x models record no release: their files are 2.1.0's. */
const LEGACY_UPSTREAM: UpstreamRelease = '2.1.0'

function withUpstream<T extends {readonly upstream?: unknown}>(entry: T): T & {readonly upstream: UpstreamRelease} {
  return {...entry, upstream: typeof entry.upstream === 'string' && isUpstreamRelease(entry.upstream) ? entry.upstream : LEGACY_UPSTREAM}
}

function hasValidUpstream(v: Record<string, unknown>): boolean {
  return v['upstream'] === undefined || (typeof v['upstream'] === 'string' && isUpstreamRelease(v['upstream']))
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

const SHA256 = /^[0-9a-f]{64}$/

function hasFile(v: Record<string, unknown>): boolean {
  return typeof v['file'] === 'string' && Number.isInteger(v['size']) && typeof v['sha256'] === 'string' && SHA256.test(v['sha256'])
}

function isHubFile(v: unknown): v is LockedHubFile {
  return (
    isRecord(v) && hasFile(v) && hasValidUpstream(v) && ['repo', 'revision', 'commit', 'path', 'url'].every((k) => typeof v[k] === 'string')
  )
}

function isGeneratedFile(v: unknown): v is LockedGeneratedFile {
  return isRecord(v) && hasFile(v) && hasValidUpstream(v) && typeof v['from'] === 'string'
}

function isBundle(v: unknown): v is LockedBundle {
  return (
    isRecord(v) &&
    typeof v['folder'] === 'string' &&
    typeof v['source'] === 'string' &&
    Number.isInteger(v['size']) &&
    typeof v['sha256'] === 'string'
  )
}
