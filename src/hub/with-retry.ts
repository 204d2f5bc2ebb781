import {CancelledError} from '../errors/index.js'
import {isTransientError} from './is-transient-error.js'

export interface RetryOptions {
  /** Tries in all (1 = no retry). @default 5 */
  readonly attempts?: number
  /** Pause before the first retry; doubled each time. @default 500 */
  readonly baseDelayMs?: number
  /** @default 8000 */
  readonly maxDelayMs?: number
}

export interface RetryInfo {
  /** The attempt that failed (1-based). */
  readonly attempt: number
  readonly attempts: number
  readonly delayMs: number
  readonly error: unknown
}

export interface WithRetryParams<T> {
  readonly run: (attempt: number) => Promise<T>
  readonly retry?: RetryOptions
  readonly signal?: AbortSignal
  readonly onRetry?: (info: RetryInfo) => void
  /** @default isTransientError */
  readonly isRetryable?: (error: unknown) => boolean
}

/** Runs `run`, retrying transient failures with exponential backoff; cancellation stops at once. */
export async function withRetry<T>(params: WithRetryParams<T>): Promise<T> {
  const attempts = Math.max(1, params.retry?.attempts ?? 5)
  const base = params.retry?.baseDelayMs ?? 500
  const max = params.retry?.maxDelayMs ?? 8000
  const retryable = params.isRetryable ?? isTransientError
  for (let attempt = 1; ; attempt += 1) {
    throwIfCancelled(params.signal)
    try {
      return await params.run(attempt)
    } catch (error) {
      throwIfCancelled(params.signal)
      if (attempt >= attempts || !retryable(error)) throw error
      const delayMs = Math.min(max, base * 2 ** (attempt - 1))
      params.onRetry?.({attempt, attempts, delayMs, error})
      await sleep(delayMs, params.signal)
    }
  }
}

export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) {
    throw new CancelledError({
      code: 'CANCELLED',
      message: 'Download cancelled.',
      hint: 'Run the same command again: finished files are kept and partial ones resume where they stopped.',
    })
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, {once: true})
  })
}
