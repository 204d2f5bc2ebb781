import {describe, expect, it} from 'vitest'
import {KvCache, type KvInputLink} from '../../src/flowlm/kv-cache.js'

const layout = {layers: 2, heads: 2, headDim: 3}
const rowSize = 2 * 2 * 2 * 3 // layers · k|v · heads · head_dim
/** The links of a current export's state table: past_k.<i> / past_v.<i> from new_kv[:, i, 0|1]. */
const links: KvInputLink[] = [0, 1].flatMap((layer) => [
  {input: `past_k.${layer}`, layer, kv: 0 as const},
  {input: `past_v.${layer}`, layer, kv: 1 as const},
])

/** Time-major rows [count, layers, 2, heads, head_dim] whose every value encodes (position, layer, k|v, element). */
function rows(first: number, count: number): Float32Array {
  return Float32Array.from({length: count * rowSize}, (_, i) => {
    const pos = first + Math.floor(i / rowSize)
    const within = i % rowSize
    return pos * 1000 + within
  })
}

describe('KvCache: per-layer buffers fed to flow_lm_main without copying the cache', () => {
  it('gives each layer its k and v prefix as [1, offset, heads, head_dim] views of what was appended', () => {
    const kv = new KvCache(layout, 4)
    kv.append(rows(0, 3))
    kv.append(rows(3, 1))
    expect(kv.offset).toBe(4)
    const feeds = kv.feeds(links)
    expect(Object.keys(feeds).sort()).toEqual(['past_k.0', 'past_k.1', 'past_v.0', 'past_v.1'])
    expect(feeds['past_v.1']?.dims).toEqual([1, 4, 2, 3])
    // past_v.1 at position p is the row's block (layer 1, v): floats 18..23 of the row
    expect(Array.from(feeds['past_v.1']?.data as Float32Array).slice(6, 12)).toEqual([1018, 1019, 1020, 1021, 1022, 1023])
    expect(Array.from(feeds['past_k.0']?.data as Float32Array).slice(-6)).toEqual([3000, 3001, 3002, 3003, 3004, 3005])
  })

  it("names each feed as its state-table link does, whatever the name: the buffer is chosen by the link's index", () => {
    const kv = new KvCache(layout, 4)
    kv.append(rows(0, 2))
    const feeds = kv.feeds([
      {input: 'cache.values.of.layer.one', layer: 1, kv: 1},
      {input: 'keys0', layer: 0, kv: 0},
    ])
    expect(Object.keys(feeds)).toEqual(['cache.values.of.layer.one', 'keys0'])
    expect(Array.from(feeds['cache.values.of.layer.one']?.data as Float32Array)).toEqual(
      Array.from(kv.feeds(links)['past_v.1']?.data as Float32Array),
    )
    expect(Array.from(feeds['keys0']?.data as Float32Array).slice(0, 6)).toEqual([0, 1, 2, 3, 4, 5])
    expect(() => kv.feeds([{input: 'past_k.2', layer: 2, kv: 0}])).toThrow(RangeError)
  })

  it('feeds a graph that needs past rows (min_past_rows) zero rows in front of a shorter prefix, whatever the buffers hold', () => {
    const kv = new KvCache(layout, 4)
    kv.append(rows(7, 2))
    kv.clear() // offset 0, the buffers still hold the old rows
    const feeds = kv.feeds(links, 1)
    expect(feeds['past_k.1']?.dims).toEqual([1, 1, 2, 3])
    expect(Array.from(feeds['past_k.1']?.data as Float32Array)).toEqual([0, 0, 0, 0, 0, 0])
    expect(kv.feeds(links)['past_k.1']?.dims).toEqual([1, 0, 2, 3])
    kv.append(rows(0, 1))
    // one valid row already meets it: the view itself, no copy
    const one = kv.feeds(links, 1)['past_v.0']
    expect(one?.dims).toEqual([1, 1, 2, 3])
    expect(Array.from(one?.data as Float32Array)).toEqual([6, 7, 8, 9, 10, 11])
    const padded = kv.feeds(links, 3)['past_v.0']
    expect(padded?.dims).toEqual([1, 3, 2, 3])
    expect(Array.from(padded?.data as Float32Array)).toEqual([...Array<number>(12).fill(0), 6, 7, 8, 9, 10, 11])
  })

  it("assembles the valid prefix as one time-major tensor in new_kv's layout (a copy, for parity) equal to the appended rows", () => {
    const kv = new KvCache(layout, 8)
    kv.append(rows(0, 5))
    const past = kv.past()
    expect(past.dims).toEqual([5, 2, 2, 2, 3])
    expect(Array.from(past.data as Float32Array)).toEqual(Array.from(rows(0, 5)))
  })

  it('grows past its capacity keeping the prefix, and copies another cache', () => {
    const kv = new KvCache(layout, 2)
    kv.append(rows(0, 2))
    kv.append(rows(2, 3))
    expect(kv.capacity).toBeGreaterThanOrEqual(5)
    expect(Array.from(kv.past().data as Float32Array)).toEqual(Array.from(rows(0, 5)))
    const copy = new KvCache(layout, 1)
    copy.copyFrom(kv)
    copy.append(rows(5, 1))
    expect(Array.from(copy.past().data as Float32Array)).toEqual(Array.from(rows(0, 6)))
    expect(kv.offset).toBe(5) // the source is untouched
  })

  it('round-trips upstream voice-state caches [2, 1, length, heads, head_dim] per layer, keeping `positions`', () => {
    const kv = new KvCache(layout, 8)
    kv.append(rows(0, 3))
    const caches = kv.toLayerCaches()
    expect(caches).toHaveLength(2)
    expect(caches[1]?.length).toBe(2 * 3 * 6)
    const back = KvCache.fromLayerCaches(layout, caches, 3, 10)
    expect(back.capacity).toBe(10)
    expect(Array.from(back.past().data as Float32Array)).toEqual(Array.from(rows(0, 3)))
    // a file whose cache is longer than its offset: only the first `positions` rows count
    const longer = KvCache.fromLayerCaches(layout, caches, 2, 4, 3)
    expect(Array.from(longer.past().data as Float32Array)).toEqual(Array.from(rows(0, 2)))
  })
})
