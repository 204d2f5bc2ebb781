import {basename, join, resolve} from 'node:path'
import {ModelError} from '../errors/index.js'
import {defaultReleaseFor, type UpstreamRelease} from '../upstream/upstream-releases.js'
import {GATED_REPO, UNGATED_REPO} from './catalogue.js'
import type {DownloadEvent, DownloadMode, FileStatus} from './download-events.js'
import {fetchPlannedFile, sameSource} from './fetch-planned-file.js'
import type {HubAccess} from './hub-access.js'
import {HubResolver} from './hub-resolver.js'
import {loadConfigTemplate} from './load-config-template.js'
import {emptyLockFile, LOCK_FILE_NAME, type LockFile, type LockedGeneratedFile, type LockedHubFile} from './lock-file.js'
import {planDownload, type PlannedFile, type PlannedKind} from './plan-download.js'
import {planExtraFiles} from './plan-extra-files.js'
import {readLockFile} from './read-lock-file.js'
import {releaseConfig} from './release-config.js'
import {runLimited} from './run-limited.js'
import {syncModelConfig} from './sync-model-config.js'
import {verifyLocalFile} from './verify-local-file.js'
import {throwIfCancelled} from './with-retry.js'
import {writeLockFile} from './write-lock-file.js'

export interface DownloadModelParams extends Omit<HubAccess, 'onRetry'> {
  /** The models folder: the model goes to `<out>/<language>/`, the lock file to `<out>/pockettts.lock.json`. */
  readonly out: string
  /** The upstream release whose config `language` names. @default the newest release listing `model download` */
  readonly upstream?: UpstreamRelease
  /** The release's config name (`english` is the release's own english). */
  readonly language: string
  /** Predefined voice states to fetch. @default the config's default voice */
  readonly voices?: readonly string[]
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
  readonly upstream: UpstreamRelease
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
  readonly upstream: UpstreamRelease
  readonly language: string
  /** Absolute paths. */
  readonly out: string
  readonly folder: string
  readonly lockFile: string
  /** Whether the weights can clone voices (`null`: a custom `--repo`, unknown). */
  readonly voiceCloning: boolean | null
  readonly files: readonly ModelFileRecord[]
  /** The folder's config.yaml (the catalogue's architecture of the config, or `configFrom`'s). */
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
  const upstream = params.upstream ?? defaultReleaseFor('model download')
  const release = releaseConfig(upstream, params.language)
  const template = params.configFrom === undefined ? release.architecture : await loadConfigTemplate({path: params.configFrom})
  const from =
    params.configFrom === undefined
      ? `catalogue:${upstream === '2.1.0' ? params.language : `${upstream}/${params.language}`}`
      : `config-from:${basename(params.configFrom)}`
  const lock = (await readLockFile({path: lockPath})) ?? (mode === 'download' ? emptyLockFile() : missingLock(lockPath, mode))
  const plan = planDownload({
    upstream,
    language: params.language,
    voices: params.voices ?? [release.defaultVoice],
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
    onRetry: (info) =>
      events({
        type: 'retry',
        what: info.what,
        attempt: info.attempt,
        attempts: info.attempts,
        delayMs: info.delayMs,
        reason: errorText(info.error),
      }),
  }
  const planned = [...plan.files, ...(await planExtraFiles({params: {...params, upstream}, mode, lock, folder: plan.folder, access}))]
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
    if (entry === undefined || entry.upstream !== item.upstream || !item.sources.some((s) => sameSource(s, entry))) {
      if (mode === 'download') toFetch.push({item})
      else
        unavailable.push(
          `${item.file} (${entry === undefined ? 'not in the lock file' : `locked from ${entry.repo}@${entry.revision}, not the source asked for`})`,
        )
      continue
    }
    throwIfCancelled(params.signal)
    const state = await verifyLocalFile({
      path: join(out, entry.file),
      size: entry.size,
      sha256: entry.sha256,
      ...(params.signal === undefined ? {} : {signal: params.signal}),
    })
    if (state.state === 'ok') {
      records.push(record(entry, item.kind, 'verified'))
      events({type: 'file-done', file: entry.file, size: entry.size, status: 'verified'})
    } else if (state.state === 'mismatch') {
      mismatches.push(
        `${entry.file} (${state.size === entry.size ? `sha256 ${state.sha256 ?? '?'}` : `${state.size} bytes`}, ` +
          `lock: ${state.size === entry.size ? `sha256 ${entry.sha256}` : `${entry.size} bytes`})`,
      )
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
      hint:
        'The files changed after they were downloaded. Delete them and run `pockettts model download` again ' +
        'to fetch the locked versions (nothing is re-downloaded on its own).',
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
        const result = await fetchPlannedFile({item, pinned, out, resolver, access: {...access, signal}, events})
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
      tokenizerFile: release.tokenizerFile,
      voiceCloning,
      locked: lock.generated.find((g) => g.file === `${plan.folder}/config.yaml`),
      checkOnly: mode === 'verify-only',
    })
    configEntry = config.entry
    return {
      mode,
      upstream,
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
        generated:
          configEntry === undefined ? lock.generated : [...lock.generated.filter((g) => g.file !== configEntry!.file), configEntry],
      }
      if (JSON.stringify(finalLock) !== JSON.stringify(lock)) await writeLockFile({path: lockPath, lock: finalLock})
    }
  }
}

function record(entry: LockedHubFile, kind: PlannedKind, status: FileStatus): ModelFileRecord {
  return {
    file: entry.file,
    kind,
    upstream: entry.upstream,
    repo: entry.repo,
    path: entry.path,
    revision: entry.revision,
    commit: entry.commit,
    size: entry.size,
    sha256: entry.sha256,
    status,
  }
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
