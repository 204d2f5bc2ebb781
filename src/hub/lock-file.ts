import type {UpstreamRelease} from '../upstream/upstream-releases.js'

/** `<models folder>/pockettts.lock.json`: where every downloaded file came from and what it must hash to. */

export const LOCK_FILE_NAME = 'pockettts.lock.json'
export const LOCK_FORMAT = 'pockettts-lock/1'

/** A file downloaded from a hub repo. */
export interface LockedHubFile {
  /** Local path, relative to the folder holding the lock file, with `/` separators. */
  readonly file: string
  readonly repo: string
  /** The revision that was asked for (a pin, a branch or a tag). */
  readonly revision: string
  /** The commit it resolved to; the file is fetched from this commit again when it is missing. */
  readonly commit: string
  /** Path in the repo. */
  readonly path: string
  readonly size: number
  readonly sha256: string
  /** Where it came from (the resolve URL at the commit). */
  readonly url: string
  /** The upstream pocket-tts release whose config the file belongs to; a lock written before 4.x models has none (read as 2.1.0). */
  readonly upstream: UpstreamRelease
}

/** A file pockettts wrote itself (the model folder's config.yaml). */
export interface LockedGeneratedFile {
  readonly file: string
  readonly size: number
  readonly sha256: string
  /** What it was made from, e.g. `catalogue:english` or `config-from:tiny.yaml`. */
  readonly from: string
  /** As for hub files (absent in older locks: 2.1.0). */
  readonly upstream: UpstreamRelease
}

/** An unpacked bundle (`model download --bundle`). */
export interface LockedBundle {
  /** Folder it was unpacked to, relative to the lock file. */
  readonly folder: string
  /** The URL or file name it came from. */
  readonly source: string
  readonly size: number
  readonly sha256: string
}

export interface LockFile {
  readonly format: typeof LOCK_FORMAT
  readonly files: readonly LockedHubFile[]
  readonly generated: readonly LockedGeneratedFile[]
  readonly bundles: readonly LockedBundle[]
}

export function emptyLockFile(): LockFile {
  return {format: LOCK_FORMAT, files: [], generated: [], bundles: []}
}
