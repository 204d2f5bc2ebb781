import {GATED_REPO, languageEntry} from './catalogue.js'
import {resolveUrl} from './hub-access.js'

export interface CheckGatedAccessParams {
  readonly endpoint: string
  readonly accessToken: string
  readonly fetch?: typeof fetch
  /** Give up after this long (the hub may be unreachable). @default 2000 */
  readonly timeoutMs?: number
}

export type GatedAccess =
  | {readonly status: 'ok'; readonly url: string}
  | {readonly status: 'refused'; readonly url: string; readonly httpStatus: number}
  | {readonly status: 'unexpected'; readonly url: string; readonly httpStatus: number}
  | {readonly status: 'unreachable'; readonly url: string; readonly reason: string}

/** Whether the token reaches the gated weights: one HEAD request (no data, redirects not followed). */
export async function checkGatedAccess(params: CheckGatedAccessParams): Promise<GatedAccess> {
  const weights = languageEntry('english').weights
  const url = resolveUrl({endpoint: params.endpoint, repo: GATED_REPO, commit: weights.revision, path: weights.path})
  try {
    const response = await (params.fetch ?? fetch)(url, {
      method: 'HEAD',
      redirect: 'manual',
      headers: {Authorization: `Bearer ${params.accessToken}`},
      signal: AbortSignal.timeout(params.timeoutMs ?? 2000),
    })
    await response.body?.cancel()
    if (response.status === 401 || response.status === 403) return {status: 'refused', url, httpStatus: response.status}
    if (response.ok || (response.status >= 300 && response.status < 400)) return {status: 'ok', url}
    return {status: 'unexpected', url, httpStatus: response.status}
  } catch (error) {
    const cause = (error as Error & {cause?: unknown}).cause
    const reason =
      error instanceof Error && error.name === 'TimeoutError'
        ? `no answer within ${params.timeoutMs ?? 2000} ms`
        : cause instanceof Error
          ? ((cause as NodeJS.ErrnoException).code ?? cause.message)
          : (error as Error).message
    return {status: 'unreachable', url, reason}
  }
}
