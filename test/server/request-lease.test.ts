import {EventEmitter} from 'node:events'
import type {FastifyReply} from 'fastify'
import {describe, expect, it} from 'vitest'
import {GenerationPool} from '../../src/server/generation-pool.js'
import {HttpProblem} from '../../src/server/http-problem.js'
import {acquireLease, RequestAborted, type AcquireLeaseParams} from '../../src/server/request-lease.js'

/** The only part of a reply a lease uses: the raw response's 'close' event and writableFinished. */
function fakeReply(): {reply: FastifyReply; close: () => void} {
  const raw = Object.assign(new EventEmitter(), {writableFinished: false})
  return {reply: {raw} as unknown as FastifyReply, close: () => raw.emit('close')}
}

function params(pool: GenerationPool, overrides: Partial<AcquireLeaseParams> = {}): AcquireLeaseParams & {events: string[]} {
  const events: string[] = []
  return {
    pool,
    reply: fakeReply().reply,
    timeoutMs: 60_000,
    shutdown: new AbortController().signal,
    draining: false,
    retryAfterSeconds: () => 7,
    onReject: (reason) => events.push(`reject:${reason}`),
    onAbandon: () => events.push('abandon'),
    events,
    ...overrides,
  }
}

describe('acquireLease', () => {
  it('gives a slot whose signal fires when the client closes; release frees the slot', async () => {
    const pool = new GenerationPool({concurrency: 1, maxQueue: 0})
    const {reply, close} = fakeReply()
    const lease = await acquireLease(params(pool, {reply}))
    expect(pool.stats.active).toBe(1)
    close()
    expect(lease.signal.aborted).toBe(true)
    expect(lease.abortCause).toBe('client_closed')
    expect(lease.signal.reason).toBeInstanceOf(RequestAborted)
    lease.release()
    lease.release()
    expect(pool.stats.active).toBe(0)
  })

  it('answers 429 with Retry-After when the queue is full and 503 while draining', async () => {
    const pool = new GenerationPool({concurrency: 1, maxQueue: 0})
    const held = await acquireLease(params(pool))
    const full = params(pool)
    const error = await acquireLease(full).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(HttpProblem)
    expect(error).toMatchObject({status: 429, code: 'queue_full', retryAfterSeconds: 7})
    expect(full.events).toEqual(['reject:queue_full'])
    const draining = params(pool, {draining: true})
    await expect(acquireLease(draining)).rejects.toMatchObject({status: 503, code: 'server_draining'})
    expect(draining.events).toEqual(['reject:draining'])
    held.release()
  })

  it('answers 503 queue_timeout when the request times out while queued, and counts a client leaving the queue', async () => {
    const pool = new GenerationPool({concurrency: 1, maxQueue: 2})
    const held = await acquireLease(params(pool))
    const slow = params(pool, {timeoutMs: 20})
    await expect(acquireLease(slow)).rejects.toMatchObject({status: 503, code: 'queue_timeout'})
    expect(slow.events).toEqual(['reject:queue_timeout'])
    const {reply, close} = fakeReply()
    const leaving = params(pool, {reply})
    const waiting = acquireLease(leaving).catch((e: unknown) => e)
    close()
    expect(await waiting).toBeInstanceOf(RequestAborted)
    expect(leaving.events).toEqual(['abandon'])
    expect(pool.stats).toMatchObject({active: 1, queued: 0})
    held.release()
  })

  it('aborts running and queued leases at the shutdown deadline', async () => {
    const pool = new GenerationPool({concurrency: 1, maxQueue: 1})
    const shutdown = new AbortController()
    const running = await acquireLease(params(pool, {shutdown: shutdown.signal}))
    const queued = acquireLease(params(pool, {shutdown: shutdown.signal})).catch((e: unknown) => e)
    shutdown.abort()
    expect(running.abortCause).toBe('shutdown')
    expect(await queued).toMatchObject({status: 503, code: 'server_draining'})
    running.release()
  })
})
