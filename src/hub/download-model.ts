import {basename, join, resolve} from 'node:path'
import picomatch from 'picomatch'
import {ModelError, isPocketTtsError} from '../errors/index.js'
import {GATED_REPO, UNGATED_REPO, languageEntry, type Language, type PredefinedVoice} from './catalogue.js'
import {downloadFile} from './download-file.js'
import type {HubAccess} from './hub-access.js'
import {HubResolver} from './hub-resolver.js'
import {listRepoFiles} from './list-repo-files.js'
import {loadConfigTemplate} from './load-config-template.js'
import {emptyLockFile, LOCK_FILE_NAME, type LockFile, type LockedGeneratedFile, type LockedHubFile} from './lock-file.js'
import {extraFilesSource, planDownload, type PlannedFile, type PlannedKind, type PlannedSource} from './plan-download.js'
import {readLockFile} from './read-lock-file.js'
import {resolveHubFiles, type ResolvedHubFile} from './resolve-hub-files.js'
import {runLimited} from './run-limited.js'
import {syncModelConfig} from './sync-model-config.js'
import {verifyLocalFile} from './verify-local-file.js'
import {throwIfCancelled} from './with-retry.js'
import {writeLockFile} from './write-lock-file.js'

/** `download` fetches what is missing; `verify-only` only checks; `offline` uses the lock and local files. */
export type DownloadMode = 'download' | 'verify-only' | 'offline'
export type FileStatus = 'downloaded' | 'resumed' | 'verified'

export type DownloadEvent =
  | {readonly type: 'notice'; readonly message: string}
  | {readonly type: 'file-start'; readonly file: string; readonly size: number; readonly resumedFrom: number}
  | {readonly type: 'file-progress'; readonly file: string; readonly done: number; readonly total: number}
  | {readonly type: 'file-done'; readonly file: string; readonly size: number; readonly status: FileStatus}
  | {readonly type: 'retry'; readonly what: string; readonly attempt: number; readonly attempts: number; readonly delayMs: number; readonly reason: string}

export interface DownloadModelParams extends Omit<HubAccess, 'onRetry'> {
  /** The models folder: the model goes to `<out>/<language>/`, the lock file to `<out>/pockettts.lock.json`. */
  readonly out: string
  readonly language: Language
  /** Predefined voice states to fetch. @default the language's default voice */
  readonly voices?: readonly PredefinedVoice[]
  /** Take every file from this repo (same layout as upstream's). */
  readonly repo?: string
  /** Take every file at this revision instead of upstream's pins. */
  readonly revision?: string
  /** Extra repo files (globs), saved under `<language>/files/<repo path>`. */
  readonly files?: readonly string[]
  /** Use the ungated weights (no voice cloning) when the gated repo is out of reach. */
  readonly allowNoCloning?: boolean
  /** An upstream-schema config to take the architecture from instead of the catalogue's. */
  readonly configFrom?: string
  /** @default 'download' */
  readonly mode?: DownloadMode
  /** Files transferred at once. @default 4 */
  readonly concurrency?: number
  readonly onEvent?: (event: DownloadEvent) => void
}

export interface ModelFileRecord {
  readonly file: string
  readonly kind: PlannedKind
  readonly repo: string
  readonly path: string
  readonly revision: string
  readonly commit: string
  readonly size: number
  readonly sha256: string
  readonly status: FileStatus
}

export interface DownloadModelResult {
  readonly mode: DownloadMode
  readonly language: Language
  /** Absolute paths. */
  readonly out: string
  readonly folder: string
  readonly lockFile: string
  /** Whether the weights can clone voices (`null`: a custom `--repo`, unknown). */
  readonly voiceCloning: boolean | null
  readonly files: readonly ModelFileRecord[]
  readonly config: {readonly file: string; readonly status: 'written' | 'verified'}
  /** Bytes transferred by this run. */
  readonly downloadedBytes: number
}

/**
 * Brings an upstream-format model folder (`config.yaml`, `model.safetensors`, `tokenizer.model`,
 * `voices/<name>.safetensors`) under `out` in line with the lock file: locked files are verified (a hash
 * mismatch is an error naming the file, never a re-download), missing ones are fetched from the hub in
 * parallel with resume and retries, and the lock records every file's repo, commit, path, size, sha256 and URL.
 */
export async function downloadModel(params: DownloadModelParams): Promise<DownloadModelResult> {
  const mode = params.mode ?? 'download'
  const out = resolve(params.out)
  const lockPath = join(out, LOCK_FILE_NAME)
  const events = params.onEvent ?? ((): void => {})
  const template = params.configFrom === undefined ? languageEntry(params.language).architecture : await loadConfigTemplate({path: params.configFrom})
  const from = params.configFrom === undefined ? `catalogue:${params.language}` : `config-from:${basename(params.configFrom)}`
  const lock = (await readLockFile({path: lockPath})) ?? (mode === 'download' ? emptyLockFile() : missingLock(lockPath, mode))
  const plan = planDownload({
    language: params.language,
    voices: params.voices ?? [languageEntry(params.language).defaultVoice],
    ...(params.repo === undefined ? {} : {repo: params.repo}),
    ...(params.revision === undefined ? {} : {revision: params.revision}),
    allowNoCloning: params.allowNoCloning === true,
    hasToken: params.accessToken !== undefined,
  })
  const access: HubAccess = {
    endpoint: params.endpoint,
    ...(params.accessToken === undefined ? {} : {accessToken: params.accessToken}),
    ...(params.fetch === undefined ? {} : {fetch: params.fetch}),
    ...(params.signal === undefined ? {} : {signal: params.signal}),
    ...(params.retry === undefined ? {} : {retry: params.retry}),
    onRetry: (info) => events({type: 'retry', what: info.what, attempt: info.attempt, attempts: info.attempts, delayMs: info.delayMs, reason: errorText(info.error)}),
  }
  const planned = [...plan.files, ...(await planExtraFiles({params, mode, lock, folder: plan.folder, access}))]
  if (mode === 'download' && params.allowNoCloning === true && params.accessToken === undefined && params.repo === undefined) {
    events({type: 'notice', message: `No token given: using the ungated weights of ${UNGATED_REPO} (no voice cloning).`})
  }

  // 1. Files the lock knows: verify them; collect what is missing.
  const locked = new Map(lock.files.map((f) => [f.file, f]))
  const records: ModelFileRecord[] = []
  const toFetch: {item: PlannedFile; pinned?: LockedHubFile}[] = []
  const mismatches: string[] = []
  const unavailable: string[] = []
  for (const item of planned) {
    const entry = locked.get(item.file)
    if (entry === undefined || !item.sources.some((s) => sameSource(s, entry))) {
      if (mode === 'download') toFetch.push({item})
      else unavailable.push(`${item.file} (${entry === undefined ? 'not in the lock file' : `locked from ${entry.repo}@${entry.revision}, not the source asked for`})`)
      continue
    }
    throwIfCancelled(params.signal)
    const state = await verifyLocalFile({path: join(out, entry.file), size: entry.size, sha256: entry.sha256, ...(params.signal === undefined ? {} : {signal: params.signal})})
    if (state.state === 'ok') {
      records.push(record(entry, item.kind, 'verified'))
      events({type: 'file-done', file: entry.file, size: entry.size, status: 'verified'})
    } else if (state.state === 'mismatch') {
      mismatches.push(`${entry.file} (${state.size === entry.size ? `sha256 ${state.sha256 ?? '?'}` : `${state.size} bytes`}, lock: ${state.size === entry.size ? `sha256 ${entry.sha256}` : `${entry.size} bytes`})`)
    } else if (mode === 'download') {
      toFetch.push({item, pinned: entry})
    } else {
      unavailable.push(`${entry.file} (missing)`)
    }
  }
  if (mismatches.length > 0) {
    throw new ModelError({
      code: 'LOCK_MISMATCH',
      exitCode: 1,
      message: `${mismatches.length} file(s) differ from the lock file ${lockPath}: ${mismatches.join('; ')}.`,
      hint: 'The files changed after they were downloaded. Delete them and run `pockettts model download` again to fetch the locked versions (nothing is re-downloaded on its own).',
      details: {files: mismatches},
    })
  }
  if (unavailable.length > 0) {
    throw new ModelError({
      code: mode === 'offline' ? 'OFFLINE_MISSING' : 'LOCK_VERIFY_FAILED',
      exitCode: 1,
      message: `${mode === 'offline' ? 'Offline, and these files are not available locally' : 'Verification failed'}: ${unavailable.join('; ')}.`,
      hint: 'Run `pockettts model download` with the same options and network access to fetch them.',
      details: {files: unavailable},
    })
  }

  // 2. Fetch what is missing, at most `concurrency` at a time; the lock records each finished file.
  const fetched = new Map<string, LockedHubFile>()
  let downloadedBytes = 0
  let configEntry: LockedGeneratedFile | undefined
  const resolver = new HubResolver(access)
  for (const {item, pinned} of toFetch) {
    const first = item.sources[0]!
    if (pinned === undefined) resolver.expect(first.repo, first.revision, first.path)
    else resolver.expect(pinned.repo, pinned.commit, pinned.path)
  }
  try {
    await runLimited({
      concurrency: params.concurrency ?? 4,
      ...(params.signal === undefined ? {} : {signal: params.signal}),
      tasks: toFetch.map(({item, pinned}) => async (signal: AbortSignal) => {
        const result = await fetchItem({item, pinned, out, resolver, access: {...access, signal}, events})
        fetched.set(item.file, result.entry)
        downloadedBytes += result.transferred
        records.push(record(result.entry, item.kind, result.status))
      }),
    })

    // 3. The folder's config.yaml, from the template and the weights actually present.
    const weights = fetched.get(`${plan.folder}/model.safetensors`) ?? locked.get(`${plan.folder}/model.safetensors`)!
    const voiceCloning = params.repo !== undefined ? null : weights.repo === GATED_REPO
    const config = await syncModelConfig({
      out,
      folder: plan.folder,
      template,
      from,
      weights,
      voiceCloning,
      locked: lock.generated.find((g) => g.file === `${plan.folder}/config.yaml`),
      checkOnly: mode === 'verify-only',
    })
    configEntry = config.entry
    return {
      mode,
      language: params.language,
      out,
      folder: join(out, plan.folder),
      lockFile: lockPath,
      voiceCloning,
      files: planned.map((p) => records.find((r) => r.file === p.file)!),
      config: {file: config.entry.file, status: config.status},
      downloadedBytes,
    }
  } finally {
    if (mode !== 'verify-only' && (fetched.size > 0 || configEntry !== undefined)) {
      const finalLock: LockFile = {
        ...lock,
        files: [...lock.files.filter((f) => !fetched.has(f.file)), ...fetched.values()],
        generated: configEntry === undefined ? lock.generated : [...lock.generated.filter((g) => g.file !== configEntry!.file), configEntry],
      }
      if (JSON.stringify(finalLock) !== JSON.stringify(lock)) await writeLockFile({path: lockPath, lock: finalLock})
    }
  }
}

interface FetchItemParams {
  readonly item: PlannedFile
  readonly pinned: LockedHubFile | undefined
  readonly out: string
  readonly resolver: HubResolver
  readonly access: HubAccess
  readonly events: (event: DownloadEvent) => void
}

/** Resolves and downloads one planned file, falling back to the next source only where the user allowed it. */
async function fetchItem(p: FetchItemParams): Promise<{entry: LockedHubFile; transferred: number; status: FileStatus}> {
  const {item, pinned} = p
  const candidates = pinned === undefined ? item.sources : item.sources.filter((s) => sameSource(s, pinned))
  for (const [index, source] of candidates.entries()) {
    const isLast = index === candidates.length - 1
    try {
      const listed = pinned === undefined ? await p.resolver.resolve(source.repo, source.revision, source.path) : await p.resolver.resolve(pinned.repo, pinned.commit, pinned.path)
      if (pinned !== undefined && listed.sha256 !== undefined && listed.sha256 !== pinned.sha256) {
        throw new ModelError({
          code: 'LOCK_MISMATCH',
          exitCode: 1,
          message: `${item.file}: the hub lists sha256 ${listed.sha256} for ${pinned.repo}/${pinned.path} at ${pinned.commit}, but the lock file says ${pinned.sha256}.`,
          hint: 'The endpoint serves other content than when the lock was written; check --endpoint, or delete the entry from the lock file to accept the new file.',
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

interface PlanExtraFilesParams {
  readonly params: DownloadModelParams
  readonly mode: DownloadMode
  readonly lock: LockFile
  readonly folder: string
  readonly access: HubAccess
}

/** `--files` globs: matched against the lock first, then (when online and something is unmatched) the repo tree. */
async function planExtraFiles(p: PlanExtraFilesParams): Promise<PlannedFile[]> {
  const globs = p.params.files ?? []
  if (globs.length === 0) return []
  const source = extraFilesSource(p.params)
  const prefix = `${p.folder}/files/`
  const lockedPaths = p.lock.files.filter((f) => f.file.startsWith(prefix) && f.repo === source.repo && f.revision === source.revision).map((f) => f.path)
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
  return paths.map((path) => ({file: `${prefix}${path}`, kind: 'extra', sources: [{repo: source.repo, path, revision: source.revision, gated: false}]}))
}

function lockEntry(item: PlannedFile, pinned: LockedHubFile | undefined, source: PlannedSource, resolved: ResolvedHubFile, sha256: string): LockedHubFile {
  return {
    file: item.file,
    repo: resolved.repo,
    revision: pinned?.revision ?? source.revision,
    commit: resolved.commit,
    path: resolved.path,
    size: resolved.size,
    sha256,
    url: resolved.url,
  }
}

function sameSource(source: PlannedSource, entry: LockedHubFile): boolean {
  return source.repo === entry.repo && source.path === entry.path && source.revision === entry.revision
}

function record(entry: LockedHubFile, kind: PlannedKind, status: FileStatus): ModelFileRecord {
  return {file: entry.file, kind, repo: entry.repo, path: entry.path, revision: entry.revision, commit: entry.commit, size: entry.size, sha256: entry.sha256, status}
}

function missingLock(lockPath: string, mode: DownloadMode): never {
  throw new ModelError({
    code: 'LOCK_MISSING',
    exitCode: mode === 'offline' ? 3 : 1,
    message: `${mode === 'offline' ? '--offline' : '--verify-only'} needs a lock file, and there is none at ${lockPath}.`,
    hint: 'Run `pockettts model download` once with network access (it writes the lock file), or point --out at the folder that holds it.',
    details: {lockFile: lockPath},
  })
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = (error as Error & {cause?: unknown}).cause
  const code = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : undefined
  return code === undefined ? error.message : `${error.message} (${code})`
}
