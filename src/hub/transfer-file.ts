import {createHash, type Hash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {mkdir, open, readdir, rename, rm, stat, truncate} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {TransferError} from './is-transient-error.js'
import {throwIfCancelled, withRetry, type RetryInfo, type RetryOptions} from './with-retry.js'

export interface TransferProgress {
  readonly done: number
  /** Total bytes (0 while unknown). */
  readonly total: number
  /** Bytes taken over from a partial file of an earlier attempt or run. */
  readonly resumedFrom: number
}

export interface TransferFileParams {
  /** The data URL. */
  readonly url: string
  /** Final path; nothing appears there until the content checks out. */
  readonly dest: string
  /** Size, when known in advance (a hub listing). Otherwise taken from the response. */
  readonly size?: number
  /** Expected sha256 of the content. */
  readonly sha256?: string
  /** Expected git blob id (sha1 of `blob <size>\0<content>`), checked when there is no sha256; needs `size`. */
  readonly gitOid?: string
  /** Part of the partial file's name, so partials of different contents never mix. */
  readonly partialTag: string
  readonly accessToken?: string
  readonly fetch?: typeof fetch
  readonly signal?: AbortSignal
  readonly retry?: RetryOptions
  readonly onRetry?: (info: RetryInfo) => void
  readonly onProgress?: (progress: TransferProgress) => void
}

export type TransferFileResult =
  | {readonly ok: true; readonly size: number; readonly sha256: string; readonly resumedFrom: number; readonly attempts: number}
  | {readonly ok: false; readonly size: number; readonly sha256: string; readonly gitOid: string; readonly resumedFrom: number}

/**
 * Streams a URL into `<dest>.<tag>.incomplete` with HTTP Range requests, continuing what an earlier attempt
 * or run left there and retrying transient failures with backoff. When the content hashes to what is
 * expected the file is renamed to `dest`; otherwise the partial file is removed and `ok: false` returned.
 */
export async function transferFile(params: TransferFileParams): Promise<TransferFileResult> {
  const temp = `${params.dest}.${params.partialTag}.incomplete`
  await mkdir(dirname(params.dest), {recursive: true})
  const resumedFrom = await sizeOf(temp)
  let attempts = 0
  const outcome = await withRetry({
    ...(params.retry === undefined ? {} : {retry: params.retry}),
    ...(params.signal === undefined ? {} : {signal: params.signal}),
    ...(params.onRetry === undefined ? {} : {onRetry: params.onRetry}),
    run: async () => {
      attempts += 1
      return transferOnce(params, temp, resumedFrom)
    },
  })
  const sha256 = outcome.hashes.sha256.digest('hex')
  const gitOid = outcome.hashes.gitSha1?.digest('hex') ?? ''
  const ok = params.sha256 !== undefined ? sha256 === params.sha256 : params.gitOid !== undefined ? gitOid === params.gitOid : true
  if (!ok) {
    await rm(temp, {force: true})
    return {ok: false, size: outcome.size, sha256, gitOid, resumedFrom}
  }
  await rename(temp, params.dest)
  await removeStalePartials(params.dest, temp)
  return {ok: true, size: outcome.size, sha256, resumedFrom, attempts}
}

interface Hashes {
  readonly sha256: Hash
  /** Only when the size is known in advance (the git header holds it). */
  readonly gitSha1: Hash | undefined
}

/** One data request: continues the partial file from its current length and returns the hashes of it all. */
async function transferOnce(p: TransferFileParams, temp: string, resumedFrom: number): Promise<{hashes: Hashes; size: number}> {
  throwIfCancelled(p.signal)
  const fetchImpl = p.fetch ?? fetch
  let offset = await sizeOf(temp)
  if (p.size !== undefined && offset > p.size) {
    await truncate(temp, 0)
    offset = 0
  }
  let total = p.size ?? 0
  const report = (done: number): void => p.onProgress?.({done, total, resumedFrom})
  report(offset)
  if (p.size !== undefined && offset === p.size) return {hashes: await hashPrefix(temp, offset, p.size), size: offset}
  const response = await fetchImpl(p.url, {
    headers: {
      ...(offset > 0 ? {Range: `bytes=${offset}-`} : {}),
      ...(p.accessToken === undefined ? {} : {Authorization: `Bearer ${p.accessToken}`}),
    },
    ...(p.signal === undefined ? {} : {signal: p.signal}),
  })
  if (response.status === 416) {
    await response.body?.cancel()
    await truncate(temp, 0)
    throw new TransferError('the server refused to resume the partial file (HTTP 416)')
  }
  if (!response.ok) {
    await response.body?.cancel()
    throw new TransferError(`HTTP ${response.status}`, response.status)
  }
  if (offset > 0 && response.status !== 206) {
    offset = 0 // The server ignored the range: start over from the first byte.
  } else if (offset > 0) {
    const start = Number(/bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1])
    if (start !== offset) {
      await response.body?.cancel()
      await truncate(temp, 0)
      throw new TransferError(`the server resumed at byte ${start}, not ${offset}`)
    }
  }
  if (p.size === undefined) {
    const fromRange = Number(/\/(\d+)$/.exec(response.headers.get('content-range') ?? '')?.[1])
    const length = Number(response.headers.get('content-length'))
    total = Number.isFinite(fromRange) && fromRange > 0 ? fromRange : Number.isFinite(length) && length > 0 ? offset + length : 0
  }
  const hashes = await hashPrefix(temp, offset, p.size)
  if (response.body === null) throw new TransferError('empty response body')
  const handle = await open(temp, offset === 0 ? 'w' : 'a')
  let done = offset
  try {
    const reader = response.body.getReader()
    for (;;) {
      const {done: end, value} = await reader.read()
      if (end) break
      if (total > 0 && done + value.length > total) {
        await reader.cancel()
        await handle.truncate(0)
        throw new TransferError(`the server sent more than ${total} bytes`)
      }
      await handle.write(value)
      hashes.sha256.update(value)
      hashes.gitSha1?.update(value)
      done += value.length
      report(done)
    }
  } finally {
    await handle.close()
  }
  if (total > 0 && done < total) throw new TransferError(`the connection closed after ${done} of ${total} bytes`)
  return {hashes, size: done}
}

/** Hashes of the first `length` bytes of the partial file. */
async function hashPrefix(path: string, length: number, size: number | undefined): Promise<Hashes> {
  const sha256 = createHash('sha256')
  const gitSha1 = size === undefined ? undefined : createHash('sha1').update(`blob ${size}\0`)
  if (length > 0) {
    for await (const chunk of createReadStream(path, {end: length - 1})) {
      sha256.update(chunk as Buffer)
      gitSha1?.update(chunk as Buffer)
    }
  }
  return {sha256, gitSha1}
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size
  } catch {
    return 0
  }
}

/** Partial files of the same destination left by other contents. */
async function removeStalePartials(dest: string, keep: string): Promise<void> {
  const dir = dirname(dest)
  const prefix = `${basename(dest)}.`
  for (const name of await readdir(dir)) {
    if (name.startsWith(prefix) && name.endsWith('.incomplete') && join(dir, name) !== keep) await rm(join(dir, name), {force: true})
  }
}
