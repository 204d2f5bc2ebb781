import {describe, expect, it} from 'vitest'
import {GenerationPool, PoolFullError} from '../../src/server/generation-pool.js'
import {LruCache} from '../../src/server/lru-cache.js'

describe('GenerationPool', () => {
  it('grants up to `concurrency` slots, queues up to `maxQueue` in FIFO order, then refuses with PoolFullError', async () => {
    const changes: string[] = []
    const pool = new GenerationPool({concurrency: 2, maxQueue: 2}, (s) => changes.push(`${s.active}/${s.queued}`))
    const a = await pool.acquire()
    const b = await pool.acquire()
    const order: string[] = []
    const c = pool.acquire().then((slot) => (order.push('c'), slot))
    const d = pool.acquire().then((slot) => (order.push('d'), slot))
    expect(pool.stats).toMatchObject({active: 2, queued: 2})
    expect(pool.full).toBe(true)
    await expect(pool.acquire()).rejects.toBeInstanceOf(PoolFullError)
    a.release()
    a.release() // idempotent: frees one slot only
    const slotC = await c
    expect(order).toEqual(['c'])
    expect(pool.stats).toMatchObject({active: 2, queued: 1})
    b.release()
    const slotD = await d
    expect(order).toEqual(['c', 'd'])
    slotC.release()
    slotD.release()
    expect(pool.stats).toMatchObject({active: 0, queued: 0})
    expect(changes.at(-1)).toBe('0/0')
  })

  it('removes an aborted waiter from the queue and rejects it with the signal reason', async () => {
    const pool = new GenerationPool({concurrency: 1, maxQueue: 1})
    const held = await pool.acquire()
    const controller = new AbortController()
    const waiting = pool.acquire({signal: controller.signal})
    expect(pool.stats.queued).toBe(1)
    controller.abort(new Error('client went away'))
    await expect(waiting).rejects.toThrow('client went away')
    expect(pool.stats.queued).toBe(0)
    const next = pool.acquire()
    held.release()
    ;(await next).release()
    expect(pool.stats).toMatchObject({active: 0, queued: 0})
  })

  it('whenIdle resolves once nothing runs or waits; close() rejects the queue but leaves running slots alone', async () => {
    const pool = new GenerationPool({concurrency: 1, maxQueue: 2})
    await pool.whenIdle()
    const held = await pool.acquire()
    const queued = pool.acquire()
    let idle = false
    const whenIdle = pool.whenIdle().then(() => (idle = true))
    pool.close(new Error('closing'))
    await expect(queued).rejects.toThrow('closing')
    await expect(pool.acquire()).rejects.toThrow('closing')
    expect(idle).toBe(false)
    held.release()
    await whenIdle
    expect(idle).toBe(true)
  })

  it('rejects invalid limits', () => {
    expect(() => new GenerationPool({concurrency: 0, maxQueue: 1})).toThrow(RangeError)
    expect(() => new GenerationPool({concurrency: 1, maxQueue: -1})).toThrow(RangeError)
  })
})

describe('LruCache', () => {
  it('shares one computation per key, evicts the least recently used, and forgets failures', async () => {
    const cache = new LruCache<number>({maxEntries: 2})
    let calls = 0
    const make = (v: number) => async () => ((calls += 1), v)
    const first = cache.getOrCreate('a', make(1))
    const again = cache.getOrCreate('a', make(99))
    expect([first.hit, again.hit]).toEqual([false, true])
    expect(await again.value).toBe(1)
    cache.getOrCreate('b', make(2))
    cache.getOrCreate('a', make(0)) // a is now the most recent
    cache.getOrCreate('c', make(3)) // evicts b
    expect([cache.has('a'), cache.has('b'), cache.has('c')]).toEqual([true, false, true])
    const failed = cache.getOrCreate('d', async () => Promise.reject(new Error('bad upload')))
    await expect(failed.value).rejects.toThrow('bad upload')
    expect(cache.has('d')).toBe(false)
    expect(calls).toBe(3)
  })
})
