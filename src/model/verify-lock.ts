import {existsSync} from 'node:fs'
import {UsageError} from '../errors/index.js'
import type {LockFile} from '../hub/lock-file.js'
import {readLockFile} from '../hub/read-lock-file.js'
import type {ExportManifest} from './manifest-types.js'

export interface VerifyLockParams {
  readonly manifest: ExportManifest
  readonly lock: LockFile
}

export interface VerifyLockResult {
  readonly passed: boolean
  /** One line per source file the export was made from. */
  readonly details: readonly string[]
}

/** Reads the lock file that `pockettts model download` wrote (`pockettts-lock/1`). */
export async function loadLockFile(path: string): Promise<LockFile> {
  const lock = existsSync(path) ? await readLockFile({path}) : null
  if (lock === null) {
    throw new UsageError({
      code: 'LOCK_FILE_NOT_FOUND',
      message: `No lock file at ${path}.`,
      hint: 'Pass the pockettts.lock.json that `pockettts model download` wrote beside the model folders.',
    })
  }
  return lock
}

/**
 * The export's source checkpoint, tokenizer and config must be what the lock recorded for the source folder
 * (`<folder>/<name>` in the lock), or at least files the lock lists with the same sha256 (a renamed folder).
 * The config may be missing from the lock (a hand-written one); the checkpoint and tokenizer may not.
 */
export function verifyLock(params: VerifyLockParams): VerifyLockResult {
  const {manifest, lock} = params
  const entries = [...lock.files, ...lock.generated].map((e) => ({file: e.file, sha256: e.sha256.toLowerCase()}))
  const sources = [
    {what: 'checkpoint', required: true, ...manifest.source.checkpoint},
    {what: 'tokenizer', required: true, ...manifest.source.tokenizer},
    {what: 'config', required: false, ...manifest.source.config},
  ]
  const details: string[] = []
  let passed = true
  for (const source of sources) {
    const own = entries.filter(
      (e) => e.file === `${manifest.source.folder}/${source.name}` || e.file.endsWith(`/${manifest.source.folder}/${source.name}`),
    )
    const same = own.find((e) => e.sha256 === source.sha256) ?? entries.find((e) => e.sha256 === source.sha256)
    if (same !== undefined) {
      details.push(`${source.what} = lock ${same.file}`)
    } else if (own.length > 0) {
      passed = false
      details.push(
        `${source.what} ${source.name}: sha256 ${source.sha256.slice(0, 12)}…, the lock says ${own.map((e) => `${e.sha256.slice(0, 12)}…`).join(' / ')}`,
      )
    } else if (source.required) {
      passed = false
      details.push(`${source.what} ${source.name} (sha256 ${source.sha256.slice(0, 12)}…) is not in the lock`)
    } else {
      details.push(`${source.what} ${source.name} is not in the lock`)
    }
  }
  return {passed, details}
}
