import type * as ort from 'onnxruntime-node'
import {f32} from '../onnx/tensors.js'
import type {KvCache, KvLayout} from './kv-cache.js'

/** Positions a row's stride grows by when a row outgrows it (each growth re-lays every row out once). */
const STRIDE_STEP = 64

/**
 * The KV rows of the streams in a batched step, as `flow_lm_step_batched` takes them: per layer and k|v one
 * buffer [rows, stride, heads, head_dim], row r left-aligned (positions 0..length(r)-1 valid, the rest padding
 * the graph masks). The feed is the first `rows` rows as one view (no copy per step); the stride grows in
 * STRIDE_STEP steps, so a re-layout happens once per STRIDE_STEP steps at most. Rows join by copying a
 * stream's cache in and leave by moving the last row into their place.
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

  /** Appends a row holding a copy of `cache`'s valid prefix; returns its index. */
  add(cache: KvCache): number {
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

  /**
   * The past inputs for the first `count` rows: [count, stride, heads, head_dim] views (no copy); ensures room for
   * one more position in every row.
   */
  feeds(links: readonly {input: string; layer: number; kv: 0 | 1}[], count: number): Record<string, ort.Tensor> {
    this.reserve(this.rows, Math.max(0, ...this.lengths) + 1)
    const {heads, headDim} = this.layout
    const feeds: Record<string, ort.Tensor> = {}
    for (const link of links) {
      const buffer = this.buffers[2 * link.layer + link.kv] as Float32Array
      feeds[link.input] = f32(buffer.subarray(0, count * this.stride * this.blockSize), [count, this.stride, heads, headDim])
    }
    return feeds
  }

  /** Writes a step's new K/V ([count, layers, 2, heads, head_dim]) of the first `count` rows at their positions and advances them. */
  append(newKv: Float32Array, count: number): void {
    for (let row = 0; row < count; row += 1) {
      const pos = this.lengths[row] as number
      for (let b = 0; b < this.buffers.length; b += 1) {
        const start = row * this.rowSize + b * this.blockSize
        ;(this.buffers[b] as Float32Array).set(newKv.subarray(start, start + this.blockSize), (row * this.stride + pos) * this.blockSize)
      }
      this.lengths[row] = pos + 1
    }
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
