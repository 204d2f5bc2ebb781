import type {LockFile} from './lock-file.js'
import {writeFileAtomic} from './write-file-atomic.js'

export interface WriteLockFileParams {
  readonly path: string
  readonly lock: LockFile
}

/** Writes the lock file atomically, entries sorted by local path so diffs stay small. */
export async function writeLockFile(params: WriteLockFileParams): Promise<void> {
  const byFile = <T extends {file: string}>(a: T, b: T): number => a.file.localeCompare(b.file)
  const lock: LockFile = {
    format: params.lock.format,
    files: [...params.lock.files].sort(byFile),
    generated: [...params.lock.generated].sort(byFile),
    bundles: [...params.lock.bundles].sort((a, b) => a.folder.localeCompare(b.folder)),
  }
  await writeFileAtomic({path: params.path, data: `${JSON.stringify(lock, null, 2)}\n`})
}
