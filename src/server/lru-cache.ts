export interface LruCacheParams {
  /** Entries kept; the least recently used one is dropped beyond it. 0 disables caching. */
  readonly maxEntries: number
}

/**
 * A small least-recently-used cache of promised values: concurrent `getOrCreate` calls for one key share
 * one computation, and a failed computation is not kept.
 */
export class LruCache<V> {
  private readonly entries = new Map<string, Promise<V>>()

  constructor(private readonly params: LruCacheParams) {
    if (!Number.isInteger(params.maxEntries) || params.maxEntries < 0) throw new RangeError('maxEntries must be a whole number >= 0')
  }

  get size(): number {
    return this.entries.size
  }

  has(key: string): boolean {
    return this.entries.has(key)
  }

  /** Forgets a key (a deleted voice). */
  delete(key: string): void {
    this.entries.delete(key)
  }

  /** The cached value (marked as recently used), or the result of `create`, then cached. */
  getOrCreate(key: string, create: () => Promise<V>): {readonly value: Promise<V>; readonly hit: boolean} {
    const cached = this.entries.get(key)
    if (cached !== undefined) {
      this.entries.delete(key)
      this.entries.set(key, cached)
      return {value: cached, hit: true}
    }
    const value = create()
    if (this.params.maxEntries === 0) return {value, hit: false}
    this.entries.set(key, value)
    value.catch(() => {
      if (this.entries.get(key) === value) this.entries.delete(key)
    })
    while (this.entries.size > this.params.maxEntries) {
      const oldest = this.entries.keys().next().value
      if (oldest === undefined) break
      this.entries.delete(oldest)
    }
    return {value, hit: false}
  }
}
