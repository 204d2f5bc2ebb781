import {readFile} from 'node:fs/promises'
import {basename} from 'node:path'
import {UsageError} from '../errors/index.js'
import type {ExportManifest} from './manifest-types.js'

export interface LockFileEntry {
  readonly path: string
  readonly sha256: string
}

export interface VerifyLockResult {
  readonly passed: boolean
  /** One line per source file the export was made from. */
  readonly details: readonly string[]
}

/**
 * Reads the `files` of a download lock file: an array of `{path, sha256}` (extra fields ignored) or an object
 * mapping each path to `{sha256}`.
 */
export async function readLockFile(path: string): Promise<LockFileEntry[]> {
  let raw: unknown
  try {
    raw = JSON.parse(await readFile(path, 'utf8'))
  } catch (error) {
    throw new UsageError({
      code: 'LOCK_FILE_UNREADABLE',
      message: `Cannot read the lock file ${path}: ${(error as Error).message}`,
      hint: 'Pass the pockettts.lock.json that `pockettts model download` wrote.',
      cause: error,
    })
  }
  const files = (raw as {files?: unknown} | null)?.files
  const list: unknown[] = Array.isArray(files)
    ? files
    : typeof files === 'object' && files !== null
      ? Object.entries(files).map(([p, v]) => ({path: p, ...(v as object)}))
      : []
  const entries = list.filter(
    (f): f is LockFileEntry => typeof (f as LockFileEntry).path === 'string' && typeof (f as LockFileEntry).sha256 === 'string',
  )
  if (entries.length === 0) {
    throw new UsageError({
      code: 'LOCK_FILE_INVALID',
      message: `The lock file ${path} lists no files with a path and a sha256.`,
      hint: 'Pass the pockettts.lock.json that `pockettts model download` wrote.',
    })
  }
  return entries
}

/** The export's source checkpoint and tokenizer must be files the lock lists, with the same sha256. */
export function verifyLock(manifest: ExportManifest, lock: readonly LockFileEntry[]): VerifyLockResult {
  const sources = [
    {what: 'checkpoint', file: manifest.source.checkpoint.file, sha256: manifest.source.checkpoint.sha256},
    {what: 'tokenizer', file: manifest.source.tokenizer.file, sha256: manifest.source.tokenizer.sha256},
  ]
  const details: string[] = []
  let passed = true
  for (const source of sources) {
    const named = lock.filter((e) => basename(e.path) === source.file)
    const match = lock.find((e) => e.sha256.toLowerCase() === source.sha256)
    if (match !== undefined) {
      details.push(`${source.what} ${source.file} = lock ${match.path}`)
    } else {
      passed = false
      details.push(
        named.length === 0
          ? `${source.what} ${source.file} (sha256 ${source.sha256.slice(0, 12)}…) is not in the lock`
          : `${source.what} ${source.file}: sha256 ${source.sha256.slice(0, 12)}…, the lock says ${named.map((e) => e.sha256.slice(0, 12) + '…').join(' / ')}`,
      )
    }
  }
  return {passed, details}
}
