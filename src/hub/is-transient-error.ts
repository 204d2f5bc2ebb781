import {HubApiError} from '@huggingface/hub'

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
])

/** A transient HTTP status: worth another try after a pause. */
export function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408
}

/** Network failures, cut connections and 5xx/429 answers: worth another try. Cancellation never is. */
export function isTransientError(error: unknown): boolean {
  if (error instanceof HubApiError) return isTransientStatus(error.statusCode)
  if (error instanceof TransferError) return error.status === undefined || isTransientStatus(error.status)
  let current: unknown = error
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    if (current.name === 'AbortError') return false
    const code = (current as NodeJS.ErrnoException).code
    if (code !== undefined && TRANSIENT_CODES.has(code)) return true
    // undici: "fetch failed" (connect errors) and "terminated" (body cut short).
    if (current instanceof TypeError && /fetch failed|terminated|network/i.test(current.message)) return true
    current = (current as Error & {cause?: unknown}).cause
  }
  return false
}

/** A failed transfer of file data: transient unless it carries a non-transient HTTP status (401, 403, 404, …). */
export class TransferError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message)
  }
}
TransferError.prototype.name = 'TransferError'
