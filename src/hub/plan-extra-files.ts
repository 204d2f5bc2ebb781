import picomatch from 'picomatch'
import {ModelError} from '../errors/index.js'
import type {DownloadMode} from './download-events.js'
import type {HubAccess} from './hub-access.js'
import {listRepoFiles} from './list-repo-files.js'
import type {LockFile} from './lock-file.js'
import {extraFilesSource, type PlanDownloadParams, type PlannedFile} from './plan-download.js'
import {resolveHubFiles} from './resolve-hub-files.js'

export interface PlanExtraFilesParams {
  /** The download's source overrides and `--files` globs (DownloadModelParams). */
  readonly params: Pick<PlanDownloadParams, 'upstream' | 'language' | 'repo' | 'revision'> & {readonly files?: readonly string[]}
  readonly mode: DownloadMode
  readonly lock: LockFile
  readonly folder: string
  readonly access: HubAccess
}

/** `--files` globs: matched against the lock first, then (when online and something is unmatched) the repo tree. */
export async function planExtraFiles(p: PlanExtraFilesParams): Promise<PlannedFile[]> {
  const globs = p.params.files ?? []
  if (globs.length === 0) return []
  const source = extraFilesSource(p.params)
  const prefix = `${p.folder}/files/`
  const lockedPaths = p.lock.files
    .filter((f) => f.file.startsWith(prefix) && f.repo === source.repo && f.revision === source.revision)
    .map((f) => f.path)
  const matchers = globs.map((glob) => picomatch(glob, {dot: true}))
  let paths: string[]
  if (matchers.every((m) => lockedPaths.some((path) => m(path)))) {
    paths = lockedPaths.filter((path) => matchers.some((m) => m(path)))
  } else if (p.mode !== 'download') {
    const unmatched = globs.filter((_, i) => !lockedPaths.some((path) => matchers[i]!(path)))
    throw new ModelError({
      code: p.mode === 'offline' ? 'OFFLINE_MISSING' : 'LOCK_VERIFY_FAILED',
      exitCode: 1,
      message: `No locked file of ${source.repo}@${source.revision} matches --files ${unmatched.join(' ')}.`,
      hint: 'Run `pockettts model download` with the same --files and network access first.',
      details: {globs: unmatched},
    })
  } else {
    const {commit} = await resolveHubFiles({...p.access, repo: source.repo, revision: source.revision, paths: []})
    paths = await listRepoFiles({...p.access, repo: source.repo, revision: commit, globs})
  }
  return paths.map((path) => ({
    file: `${prefix}${path}`,
    kind: 'extra',
    upstream: p.params.upstream,
    sources: [{repo: source.repo, path, revision: source.revision, gated: false}],
  }))
}
