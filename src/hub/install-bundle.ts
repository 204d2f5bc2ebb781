import {rm} from 'node:fs/promises'
import {basename, join, resolve} from 'node:path'
import {ModelError, UsageError} from '../errors/index.js'
import {toHubError} from './to-hub-error.js'
import {emptyLockFile, LOCK_FILE_NAME} from './lock-file.js'
import {readLockFile} from './read-lock-file.js'
import {transferFile, type TransferProgress} from './transfer-file.js'
import {unpackBundle} from './unpack-bundle.js'
import {verifyManifest} from './verify-manifest.js'
import type {RetryInfo, RetryOptions} from './with-retry.js'
import {writeLockFile} from './write-lock-file.js'

export interface InstallBundleParams {
  /** An http(s) URL or a local file. */
  readonly source: string
  /** Expected sha256 of the bundle; required for a URL. */
  readonly sha256?: string
  /** The models folder: the bundle's folder goes inside it, the lock file records it. */
  readonly out: string
  /** `verify-only` and `offline` only check a bundle the lock file already records. @default 'download' */
  readonly mode?: 'download' | 'verify-only' | 'offline'
  readonly fetch?: typeof fetch
  readonly signal?: AbortSignal
  readonly retry?: RetryOptions
  readonly onRetry?: (info: RetryInfo) => void
  readonly onProgress?: (progress: TransferProgress) => void
}

export interface InstallBundleResult {
  readonly status: 'unpacked' | 'verified'
  readonly source: string
  readonly folder: string
  readonly lockFile: string
  readonly sha256: string
  readonly size: number
  /** Files checked against the manifest's sha256s. */
  readonly verified: number
}

/** `model download --bundle`: fetches (URL) or reads (file) a bundle, unpacks it safely, records it in the lock. */
export async function installBundle(params: InstallBundleParams): Promise<InstallBundleResult> {
  const mode = params.mode ?? 'download'
  const out = resolve(params.out)
  const lockFile = join(out, LOCK_FILE_NAME)
  const isUrl = /^https?:\/\//i.test(params.source)
  if (isUrl && params.sha256 === undefined) {
    throw new UsageError({
      code: 'BUNDLE_SHA256_REQUIRED',
      message: 'A bundle URL needs --sha256.',
      hint: 'Pass the sha256 that `pockettts model pack` printed for the bundle.',
    })
  }
  if (params.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(params.sha256)) {
    throw new UsageError({
      code: 'BUNDLE_SHA256_INVALID',
      message: `--sha256 ${params.sha256} is not a sha256 (64 hex digits).`,
      hint: 'Copy the full sha256 printed by `pockettts model pack`.',
    })
  }
  const lock = (await readLockFile({path: lockFile})) ?? emptyLockFile()
  const known = lock.bundles.find(
    (b) => b.source === params.source && (params.sha256 === undefined || b.sha256 === params.sha256.toLowerCase()),
  )
  if (known !== undefined) {
    const folder = join(out, known.folder)
    const manifest = await verifyManifest({folder, ...(params.signal === undefined ? {} : {signal: params.signal})}).catch(
      (error: unknown) => {
        if (error instanceof ModelError && error.code === 'MANIFEST_MISSING' && mode === 'download') return null
        throw error
      },
    )
    if (manifest !== null && !manifest.ok) {
      const bad = manifest.checks.filter((c) => c.status !== 'ok').map((c) => `${known.folder}/${c.file} (${c.status})`)
      throw new ModelError({
        code: 'LOCK_MISMATCH',
        exitCode: 1,
        message: `The unpacked bundle differs from its manifest: ${bad.join(', ')}.`,
        hint: `Delete ${folder} and run again to unpack the bundle afresh.`,
        details: {files: bad},
      })
    }
    if (manifest !== null)
      return {
        status: 'verified',
        source: params.source,
        folder,
        lockFile,
        sha256: known.sha256,
        size: known.size,
        verified: manifest.checks.length,
      }
  }
  if (mode !== 'download') {
    throw new ModelError({
      code: mode === 'offline' ? 'OFFLINE_MISSING' : 'LOCK_VERIFY_FAILED',
      exitCode: 1,
      message: `The lock file ${lockFile} records no unpacked bundle from ${params.source}.`,
      hint: 'Run the same command without --offline/--verify-only first.',
    })
  }
  let file = resolve(params.source)
  let downloaded: string | undefined
  if (isUrl) {
    const sha256 = params.sha256!.toLowerCase()
    downloaded = join(out, `.pockettts-bundle-${sha256.slice(0, 12)}.tar.gz`)
    try {
      const result = await transferFile({
        url: params.source,
        dest: downloaded,
        sha256,
        partialTag: sha256.slice(0, 12),
        ...(params.fetch === undefined ? {} : {fetch: params.fetch}),
        ...(params.signal === undefined ? {} : {signal: params.signal}),
        ...(params.retry === undefined ? {} : {retry: params.retry}),
        ...(params.onRetry === undefined ? {} : {onRetry: params.onRetry}),
        ...(params.onProgress === undefined ? {} : {onProgress: params.onProgress}),
      })
      if (!result.ok) {
        throw new ModelError({
          code: 'BUNDLE_CHECKSUM_MISMATCH',
          exitCode: 1,
          message: `The bundle downloaded from ${params.source} has sha256 ${result.sha256}, not ${sha256}. Nothing was unpacked.`,
          hint: 'Check the URL and the --sha256 value given with it.',
          details: {expected: sha256, actual: result.sha256},
        })
      }
    } catch (error) {
      throw toHubError({
        error,
        repo: new URL(params.source).host,
        path: basename(new URL(params.source).pathname),
        endpoint: new URL(params.source).origin,
        hasToken: false,
      })
    }
    file = downloaded
  }
  try {
    const unpacked = await unpackBundle({
      file,
      out,
      ...(params.sha256 === undefined ? {} : {sha256: params.sha256}),
      ...(params.signal === undefined ? {} : {signal: params.signal}),
    })
    const entry = {folder: unpacked.name, source: params.source, size: unpacked.size, sha256: unpacked.sha256}
    await writeLockFile({path: lockFile, lock: {...lock, bundles: [...lock.bundles.filter((b) => b.folder !== entry.folder), entry]}})
    return {
      status: 'unpacked',
      source: params.source,
      folder: unpacked.folder,
      lockFile,
      sha256: unpacked.sha256,
      size: unpacked.size,
      verified: unpacked.verified,
    }
  } finally {
    if (downloaded !== undefined) await rm(downloaded, {force: true})
  }
}
