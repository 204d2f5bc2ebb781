import {fileDownloadInfo} from '@huggingface/hub'
import {ModelError} from '../errors/index.js'
import type {HubAccess} from './hub-access.js'
import {TransferError} from './is-transient-error.js'
import type {ResolvedHubFile} from './resolve-hub-files.js'
import {toHubError} from './to-hub-error.js'
import {transferFile, type TransferProgress} from './transfer-file.js'
import {withRetry, type RetryInfo} from './with-retry.js'

export interface DownloadFileParams extends HubAccess {
  readonly file: ResolvedHubFile
  /** Final path; nothing appears there until the content hashes to what the hub lists. */
  readonly dest: string
  /** The file is weights with voice cloning (401/403 then explain the ways out of the gate). */
  readonly gated?: boolean
  readonly onProgress?: (progress: TransferProgress) => void
}

export interface DownloadFileResult {
  readonly size: number
  readonly sha256: string
  /** Bytes reused from a partial file (0 = a fresh download). */
  readonly resumedFrom: number
  /** Data requests made (1 when nothing went wrong). */
  readonly attempts: number
}

/**
 * Downloads one hub file: resolves its data URL with `@huggingface/hub` (`fileDownloadInfo`, which also
 * surfaces 401/403/404 before any data moves), then streams it with resumable Range requests of our own
 * (the library's blob API hides HTTP statuses from stream errors, which retries need). The file is renamed
 * into place only after its sha256 (or git blob id) matches the hub's listing; a mismatch is refused.
 */
export async function downloadFile(params: DownloadFileParams): Promise<DownloadFileResult> {
  const {file, dest, endpoint} = params
  const hasToken = params.accessToken !== undefined
  const fail = (error: unknown): Error =>
    toHubError({error, repo: file.repo, revision: file.revision, path: file.path, endpoint, gated: params.gated === true, hasToken})
  const common = {
    ...(params.retry === undefined ? {} : {retry: params.retry}),
    ...(params.signal === undefined ? {} : {signal: params.signal}),
    onRetry: (info: RetryInfo) => params.onRetry?.({...info, what: file.path}),
  }
  let dataUrl: string
  try {
    const info = await withRetry({
      ...common,
      run: () =>
        fileDownloadInfo({
          repo: file.repo,
          path: file.path,
          revision: file.commit,
          hubUrl: endpoint.replace(/\/+$/, ''),
          ...(params.accessToken === undefined ? {} : {accessToken: params.accessToken}),
          ...(params.fetch === undefined ? {} : {fetch: params.fetch}),
        }),
    })
    if (info === null) throw new TransferError('entry not found', 404)
    dataUrl = info.url
  } catch (error) {
    throw fail(error)
  }
  const transfer = (): ReturnType<typeof transferFile> =>
    transferFile({
      ...common,
      url: dataUrl,
      dest,
      size: file.size,
      ...(file.sha256 === undefined ? {} : {sha256: file.sha256}),
      ...(file.gitOid === undefined ? {} : {gitOid: file.gitOid}),
      partialTag: (file.sha256 ?? file.gitOid ?? 'unknown').slice(0, 12),
      ...(params.accessToken === undefined ? {} : {accessToken: params.accessToken}),
      ...(params.fetch === undefined ? {} : {fetch: params.fetch}),
      ...(params.onProgress === undefined ? {} : {onProgress: params.onProgress}),
    })
  let result
  try {
    result = await transfer()
    // A partial file from an earlier run may have been damaged: once, start again from the first byte.
    if (!result.ok && result.resumedFrom > 0) result = await transfer()
  } catch (error) {
    throw fail(error)
  }
  if (!result.ok) {
    const expected = file.sha256 ?? file.gitOid
    const actual = file.sha256 !== undefined ? result.sha256 : result.gitOid
    throw new ModelError({
      code: 'HUB_CHECKSUM_MISMATCH',
      message:
        `Refused ${file.repo}/${file.path}: the data served hashes to ${file.sha256 !== undefined ? 'sha256' : 'git blob'} ${actual}, ` +
        `but the hub lists ${expected} for commit ${file.commit.slice(0, 7)}. Nothing was written.`,
      hint: 'Run again; if it persists, the endpoint or a proxy between you and it serves corrupt data.',
      details: {repo: file.repo, path: file.path, commit: file.commit, expected, actual},
    })
  }
  return {size: result.size, sha256: result.sha256, resumedFrom: result.resumedFrom, attempts: result.attempts}
}
