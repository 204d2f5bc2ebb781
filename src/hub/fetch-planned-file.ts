import {join} from 'node:path'
import {isPocketTtsError, ModelError} from '../errors/index.js'
import {downloadFile} from './download-file.js'
import type {DownloadEvent, FileStatus} from './download-events.js'
import type {HubAccess} from './hub-access.js'
import type {HubResolver} from './hub-resolver.js'
import type {LockedHubFile} from './lock-file.js'
import type {PlannedFile, PlannedSource} from './plan-download.js'
import type {ResolvedHubFile} from './resolve-hub-files.js'
import {verifyLocalFile} from './verify-local-file.js'

export interface FetchPlannedFileParams {
  readonly item: PlannedFile
  readonly pinned: LockedHubFile | undefined
  readonly out: string
  readonly resolver: HubResolver
  readonly access: HubAccess
  readonly events: (event: DownloadEvent) => void
}

/** Resolves and downloads one planned file, falling back to the next source only where the user allowed it. */
export async function fetchPlannedFile(
  p: FetchPlannedFileParams,
): Promise<{entry: LockedHubFile; transferred: number; status: FileStatus}> {
  const {item, pinned} = p
  const candidates = pinned === undefined ? item.sources : item.sources.filter((s) => sameSource(s, pinned))
  for (const [index, source] of candidates.entries()) {
    const isLast = index === candidates.length - 1
    try {
      const listed =
        pinned === undefined
          ? await p.resolver.resolve(source.repo, source.revision, source.path)
          : await p.resolver.resolve(pinned.repo, pinned.commit, pinned.path)
      if (pinned !== undefined && listed.sha256 !== undefined && listed.sha256 !== pinned.sha256) {
        throw new ModelError({
          code: 'LOCK_MISMATCH',
          exitCode: 1,
          message:
            `${item.file}: the hub lists sha256 ${listed.sha256} for ${pinned.repo}/${pinned.path} ` +
            `at ${pinned.commit}, but the lock file says ${pinned.sha256}.`,
          hint:
            'The endpoint serves other content than when the lock was written; check --endpoint, or delete the ' +
            'entry from the lock file to accept the new file.',
          details: {files: [item.file]},
        })
      }
      // A file fetched again for the lock must hash to what the lock says.
      const resolved = pinned === undefined ? listed : {...listed, sha256: pinned.sha256}
      const dest = join(p.out, item.file)
      if (pinned === undefined && resolved.sha256 !== undefined) {
        // A file already in place (say the lock file was deleted) is adopted when it hashes to the hub's listing.
        const state = await verifyLocalFile({path: dest, size: resolved.size, sha256: resolved.sha256})
        if (state.state === 'ok') {
          p.events({type: 'file-done', file: item.file, size: resolved.size, status: 'verified'})
          return {entry: lockEntry(item, pinned, source, resolved, resolved.sha256), transferred: 0, status: 'verified'}
        }
      }
      let started = false
      const result = await downloadFile({
        ...p.access,
        file: resolved,
        dest,
        gated: source.gated,
        onProgress: (progress) => {
          if (!started) {
            started = true
            p.events({type: 'file-start', file: item.file, size: progress.total, resumedFrom: progress.resumedFrom})
          }
          p.events({type: 'file-progress', file: item.file, done: progress.done, total: progress.total})
        },
      })
      // resumedFrom is 0 when a damaged partial file had to be dropped and the file fetched afresh.
      const status = result.resumedFrom > 0 ? 'resumed' : 'downloaded'
      p.events({type: 'file-done', file: item.file, size: result.size, status})
      return {entry: lockEntry(item, pinned, source, resolved, result.sha256), transferred: result.size - result.resumedFrom, status}
    } catch (error) {
      if (isLast || !isPocketTtsError(error) || error.code !== 'HUB_GATED') throw error
      p.events({type: 'notice', message: `${error.message} Using the ungated weights instead (--allow-no-cloning): no voice cloning.`})
    }
  }
  throw new Error('unreachable: a planned file has at least one source')
}

function lockEntry(
  item: PlannedFile,
  pinned: LockedHubFile | undefined,
  source: PlannedSource,
  resolved: ResolvedHubFile,
  sha256: string,
): LockedHubFile {
  return {
    file: item.file,
    repo: resolved.repo,
    revision: pinned?.revision ?? source.revision,
    commit: resolved.commit,
    path: resolved.path,
    size: resolved.size,
    sha256,
    url: resolved.url,
    upstream: item.upstream,
  }
}

export function sameSource(source: PlannedSource, entry: LockedHubFile): boolean {
  return source.repo === entry.repo && source.path === entry.path && source.revision === entry.revision
}
