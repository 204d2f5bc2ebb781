import type * as ort from 'onnxruntime-node'
import {f32} from '../onnx/tensors.js'
import {KvCache, type KvLayout} from './kv-cache.js'

/** Positions a row's stride grows by when a row outgrows it (each growth re-lays every row out once). */
const STRIDE_STEP = 64

/**
 * The KV rows of the streams in a batched step, as `flow_lm_step_batched` takes them: per layer and k|v one
 * buffer [rows, stride, heads, head_dim], row r left-aligned (positions 0..length(r)-1 valid, the rest padding
 * the graph masks). The feed is the first `rows` rows as one view (no copy per step); the stride grows in
 * STRIDE_STEP steps, so a re-layout happens once per STRIDE_STEP steps at most. Rows join by copying a
 * stream's cache in (a voice state: the row's prefill then runs in the batch) and leave by moving the last row
 * into their place.
 */
export class BatchKv {
  private buffers: Float32Array[] = []
  private stride = 0
  private slots = 0
  private readonly lengths: number[] = []
  readonly blockSize: number
  readonly rowSize: number

  constructor(readonly layout: KvLayout) {
    this.blockSize = layout.heads * layout.headDim
    this.rowSize = layout.layers * 2 * this.blockSize
  }

  /** Rows in the batch. */
  get rows(): number {
    return this.lengths.length
  }

  /** Positions of row r (its next position). */
  length(row: number): number {
    return this.lengths[row] ?? 0
  }

  /** Appends a row holding a copy of `cache`'s valid prefix (null: an empty row); returns its index. */
  add(cache: KvCache | null): number {
    if (cache === null) {
      this.reserve(this.rows + 1, 1)
      this.lengths.push(0)
      return this.rows - 1
    }
    if (cache.layout.layers !== this.layout.layers || cache.blockSize !== this.blockSize) {
      throw new RangeError('BatchKv: the cache layout differs from the batch graph layout')
    }
    this.reserve(this.rows + 1, cache.offset + 1)
    const row = this.rows
    const rows = cache.toLayerCaches() // per layer [2, offset, heads, head_dim]
    const floats = cache.offset * this.blockSize
    rows.forEach((layerCache, layer) => {
      for (let c = 0; c < 2; c += 1) {
        ;(this.buffers[2 * layer + c] as Float32Array).set(
          layerCache.subarray(c * floats, (c + 1) * floats),
          row * this.stride * this.blockSize,
        )
      }
    })
    this.lengths.push(cache.offset)
    return row
  }

  /** Removes row r; the last row moves into its place (its new index is r). Returns the moved row's old index, or null. */
  remove(row: number): number | null {
    const last = this.rows - 1
    if (row < 0 || row > last) throw new RangeError(`BatchKv: no row ${row}`)
    if (row !== last) {
      const span = this.stride * this.blockSize
      for (const buffer of this.buffers) buffer.copyWithin(row * span, last * span, (last + 1) * span)
      this.lengths[row] = this.lengths[last] as number
    }
    this.lengths.pop()
    return row === last ? null : last
  }

  /** Row r's valid prefix as a KvCache of its own (a voice state prefilled in the batch). */
  toCache(row: number, capacity: number): KvCache {
    const length = this.length(row)
    const floats = length * this.blockSize
    const from = row * this.stride * this.blockSize
    const caches = Array.from({length: this.layout.layers}, (_, layer) => {
      const out = new Float32Array(2 * floats)
      for (let c = 0; c < 2; c += 1) out.set((this.buffers[2 * layer + c] as Float32Array).subarray(from, from + floats), c * floats)
      return out
    })
    return KvCache.fromLayerCaches(this.layout, caches, length, Math.max(capacity, length))
  }

  /**
   * The past inputs for the first `count` rows: [count, stride, heads, head_dim] views (no copy); ensures room for
   * `added[r]` more positions in row r.
   */
  feeds(links: readonly {input: string; layer: number; kv: 0 | 1}[], added: readonly number[]): Record<string, ort.Tensor> {
    const count = added.length
    this.reserve(this.rows, Math.max(1, ...added.map((n, r) => this.length(r) + n)))
    const {heads, headDim} = this.layout
    const feeds: Record<string, ort.Tensor> = {}
    for (const link of links) {
      const buffer = this.buffers[2 * link.layer + link.kv] as Float32Array
      feeds[link.input] = f32(buffer.subarray(0, count * this.stride * this.blockSize), [count, this.stride, heads, headDim])
    }
    return feeds
  }

  /**
   * Writes a call's new K/V (packed: [sum(added), layers, 2, heads, head_dim], the rows' tokens one row after the
   * other) of the first `added.length` rows at their next positions and advances them.
   */
  append(newKv: Float32Array, added: readonly number[]): void {
    let token = 0
    added.forEach((count, row) => {
      const pos = this.lengths[row] as number
      for (let j = 0; j < count; j += 1, token += 1) {
        for (let b = 0; b < this.buffers.length; b += 1) {
          const start = token * this.rowSize + b * this.blockSize
          ;(this.buffers[b] as Float32Array).set(
            newKv.subarray(start, start + this.blockSize),
            (row * this.stride + pos + j) * this.blockSize,
          )
        }
      }
      this.lengths[row] = pos + count
    })
  }

  /** Exchanges rows a and b (so that the rows of a step can be the first ones). */
  swap(a: number, b: number): void {
    if (a === b) return
    const span = this.stride * this.blockSize
    for (const buffer of this.buffers) {
      const saved = buffer.slice(a * span, (a + 1) * span)
      buffer.copyWithin(a * span, b * span, (b + 1) * span)
      buffer.set(saved, b * span)
    }
    const length = this.lengths[a] as number
    this.lengths[a] = this.lengths[b] as number
    this.lengths[b] = length
  }

  private reserve(rows: number, positions: number): void {
    const stride = positions <= this.stride ? this.stride : Math.ceil(positions / STRIDE_STEP) * STRIDE_STEP
    if (stride === this.stride && rows <= this.slots) return
    const slots = Math.max(rows, this.slots * 2, 1)
    const grown = Array.from({length: 2 * this.layout.layers}, () => new Float32Array(slots * stride * this.blockSize))
    this.buffers.forEach((old, b) => {
      for (let row = 0; row < this.rows; row += 1) {
        const valid = (this.lengths[row] as number) * this.blockSize
        const from = row * this.stride * this.blockSize
        ;(grown[b] as Float32Array).set(old.subarray(from, from + valid), row * stride * this.blockSize)
      }
    })
    this.buffers = grown
    this.stride = stride
    this.slots = slots
  }
}
