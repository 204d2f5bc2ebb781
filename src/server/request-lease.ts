import type {FastifyReply} from 'fastify'
import {CancelledError} from '../errors/index.js'
import {PoolFullError, type GenerationPool} from './generation-pool.js'
import {HttpProblem} from './http-problem.js'
import type {RejectReason} from './server-metrics.js'

/** Why a request's signal was aborted. */
export type AbortCause = 'client_closed' | 'timeout' | 'shutdown'

/** The abort reason carried by a lease's signal. */
export class RequestAborted extends CancelledError {
  constructor(readonly abortCause: AbortCause) {
    super({
      code: abortCause === 'timeout' ? 'REQUEST_TIMEOUT' : abortCause === 'shutdown' ? 'SERVER_SHUTDOWN' : 'CLIENT_CLOSED',
      message:
        abortCause === 'timeout'
          ? 'The request timed out.'
          : abortCause === 'shutdown'
            ? 'The server is shutting down.'
            : 'The client closed the connection.',
    })
  }
}
RequestAborted.prototype.name = 'RequestAborted'

/** A generation slot held by one request, with the signal that stops its work. */
export interface RequestLease {
  /** Aborted when the client goes away, the request times out or the server shuts down (reason: RequestAborted). */
  readonly signal: AbortSignal
  /** Why the signal was aborted, if it was. */
  readonly abortCause: AbortCause | undefined
  /** Frees the slot and the timers (idempotent). */
  release(): void
}

export interface AcquireLeaseParams {
  readonly pool: GenerationPool
  readonly reply: FastifyReply
  /** From the request's arrival; covers queueing and generation. */
  readonly timeoutMs: number
  /** Aborted when the server's shutdown deadline passes. */
  readonly shutdown: AbortSignal
  /** True once the server drains: new work is refused with 503. */
  readonly draining: boolean
  readonly retryAfterSeconds: () => number
  readonly onReject: (reason: RejectReason) => void
  /** The client left while the request was queued. */
  readonly onAbandon: () => void
}

/**
 * Admits a request to the generation pool: 429 when the queue is full, 503 while draining or when the
 * request timed out in the queue. The lease's signal fires when the client disconnects (while queued, the
 * request just leaves the queue), on timeout, or at shutdown.
 */
export async function acquireLease(params: AcquireLeaseParams): Promise<RequestLease> {
  const {reply} = params
  if (params.draining || params.shutdown.aborted) {
    params.onReject('draining')
    throw new HttpProblem({
      status: 503,
      code: 'server_draining',
      message: 'The server is shutting down and takes no new requests.',
      retryAfterSeconds: params.retryAfterSeconds(),
    })
  }
  const controller = new AbortController()
  const abort = (cause: AbortCause): void => {
    if (!controller.signal.aborted) controller.abort(new RequestAborted(cause))
  }
  const onClose = (): void => {
    if (!reply.raw.writableFinished) abort('client_closed')
  }
  const onShutdown = (): void => abort('shutdown')
  reply.raw.once('close', onClose)
  params.shutdown.addEventListener('abort', onShutdown, {once: true})
  const timer = setTimeout(() => abort('timeout'), params.timeoutMs)
  const cleanup = (): void => {
    clearTimeout(timer)
    reply.raw.off('close', onClose)
    params.shutdown.removeEventListener('abort', onShutdown)
  }
  const causeOf = (): AbortCause | undefined =>
    controller.signal.reason instanceof RequestAborted ? controller.signal.reason.abortCause : undefined

  let slot
  try {
    slot = await params.pool.acquire({signal: controller.signal})
  } catch (error) {
    cleanup()
    if (error instanceof PoolFullError) {
      params.onReject('queue_full')
      throw new HttpProblem({
        status: 429,
        code: 'queue_full',
        message: error.message,
        hint: 'Retry after the Retry-After delay.',
        retryAfterSeconds: params.retryAfterSeconds(),
        cause: error,
      })
    }
    const cause = causeOf()
    if (cause === 'timeout') {
      params.onReject('queue_timeout')
      throw new HttpProblem({
        status: 503,
        code: 'queue_timeout',
        message: 'No generation slot became free before the request timed out.',
        retryAfterSeconds: params.retryAfterSeconds(),
      })
    }
    if (cause === 'shutdown' || (error instanceof CancelledError && error.code === 'SERVER_CLOSING')) {
      params.onReject('draining')
      throw new HttpProblem({
        status: 503,
        code: 'server_draining',
        message: 'The server shut down before a generation slot became free.',
        retryAfterSeconds: params.retryAfterSeconds(),
      })
    }
    if (cause === 'client_closed') params.onAbandon()
    throw error
  }
  let released = false
  return {
    signal: controller.signal,
    get abortCause() {
      return causeOf()
    },
    release() {
      if (released) return
      released = true
      cleanup()
      slot.release()
    },
  }
}
