import {CancelledError, PocketTtsError} from '../errors/index.js'

export interface GenerationPoolParams {
  /** Generations that may run at the same time. */
  readonly concurrency: number
  /** Requests that may wait for a slot; one more is refused with `PoolFullError`. */
  readonly maxQueue: number
}

export interface AcquireParams {
  /** Aborting it while waiting removes the request from the queue (the promise rejects with the signal's reason). */
  readonly signal?: AbortSignal
}

/** A generation slot; `release()` frees it for the next queued request (idempotent). */
export interface PoolSlot {
  release(): void
}

export interface PoolStats {
  readonly active: number
  readonly queued: number
  readonly concurrency: number
  readonly maxQueue: number
}

/** Every slot is busy and the queue is full. */
export class PoolFullError extends PocketTtsError {
  constructor(stats: PoolStats) {
    super({
      code: 'QUEUE_FULL',
      message: `The server is busy: ${stats.active} generation(s) running and ${stats.queued} waiting (limits ${stats.concurrency} and ${stats.maxQueue}).`,
      hint: 'Retry later (see Retry-After).',
      details: {...stats},
    })
  }
}
PoolFullError.prototype.name = 'PoolFullError'

interface Waiter {
  readonly resolve: (slot: PoolSlot) => void
  readonly reject: (reason: unknown) => void
  readonly cleanup: () => void
}

/**
 * A bounded number of concurrent generations with a bounded FIFO queue in front of them. `acquire()`
 * resolves with a slot at once, waits in the queue, or throws `PoolFullError`; an aborted waiter leaves the
 * queue. `onChange` fires whenever the active or queued count changes (for gauges).
 */
export class GenerationPool {
  private activeCount = 0
  private readonly waiters: Waiter[] = []
  private readonly idleWaiters: (() => void)[] = []
  private closedReason: unknown = undefined

  constructor(
    private readonly params: GenerationPoolParams,
    private readonly onChange: (stats: PoolStats) => void = () => {},
  ) {
    if (!Number.isInteger(params.concurrency) || params.concurrency < 1) throw new RangeError('concurrency must be a whole number >= 1')
    if (!Number.isInteger(params.maxQueue) || params.maxQueue < 0) throw new RangeError('maxQueue must be a whole number >= 0')
  }

  get stats(): PoolStats {
    return {active: this.activeCount, queued: this.waiters.length, concurrency: this.params.concurrency, maxQueue: this.params.maxQueue}
  }

  /** True when a new request would be refused. */
  get full(): boolean {
    return this.activeCount >= this.params.concurrency && this.waiters.length >= this.params.maxQueue
  }

  acquire(params: AcquireParams = {}): Promise<PoolSlot> {
    const {signal} = params
    if (this.closedReason !== undefined) return Promise.reject(this.closedReason)
    if (signal?.aborted === true) return Promise.reject(signal.reason)
    if (this.activeCount < this.params.concurrency && this.waiters.length === 0) return Promise.resolve(this.grant())
    if (this.waiters.length >= this.params.maxQueue) return Promise.reject(new PoolFullError(this.stats))
    return new Promise<PoolSlot>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.waiters.indexOf(waiter)
        if (index >= 0) this.waiters.splice(index, 1)
        this.changed()
        reject(signal?.reason)
      }
      const waiter: Waiter = {resolve, reject, cleanup: () => signal?.removeEventListener('abort', onAbort)}
      signal?.addEventListener('abort', onAbort, {once: true})
      this.waiters.push(waiter)
      this.changed()
    })
  }

  /** Resolves once nothing runs and nothing waits. */
  whenIdle(): Promise<void> {
    if (this.activeCount === 0 && this.waiters.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /** Refuses new requests with `reason` and rejects every queued one with it; running slots are untouched. */
  close(reason: unknown = new CancelledError({code: 'SERVER_CLOSING', message: 'The server is shutting down.'})): void {
    this.closedReason = reason
    for (const waiter of this.waiters.splice(0)) {
      waiter.cleanup()
      waiter.reject(reason)
    }
    this.changed()
  }

  private grant(): PoolSlot {
    this.activeCount += 1
    this.changed()
    let released = false
    return {
      release: () => {
        if (released) return
        released = true
        this.activeCount -= 1
        const next = this.waiters.shift()
        if (next === undefined) {
          this.changed()
          return
        }
        next.cleanup()
        next.resolve(this.grant())
      },
    }
  }

  private changed(): void {
    this.onChange(this.stats)
    if (this.activeCount === 0 && this.waiters.length === 0) for (const resolve of this.idleWaiters.splice(0)) resolve()
  }
}
