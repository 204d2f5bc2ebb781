import type * as ort from 'onnxruntime-node'
import {f32} from '../onnx/tensors.js'

/** Dimensions of one FlowLM KV row: [layers, k|v, heads, head_dim] per position. */
export interface KvLayout {
  readonly layers: number
  readonly heads: number
  readonly headDim: number
}

/**
 * The FlowLM KV cache as the runtime keeps it: a preallocated, zero-initialised, time-major buffer
 * [capacity, layers, 2, heads, head_dim]. `flow_lm_main` reads the valid prefix (a zero-copy view) as
 * `past_kv` and returns only the new rows, which are written at `offset`. No per-step copy of the cache.
 */
export class KvCache {
  private buffer: Float32Array
  private length = 0
  readonly rowSize: number

  constructor(
    readonly layout: KvLayout,
    capacity: number,
  ) {
    this.rowSize = layout.layers * 2 * layout.heads * layout.headDim
    this.buffer = new Float32Array(Math.max(1, capacity) * this.rowSize)
  }

  /** Positions written so far (upstream's `offset`). */
  get offset(): number {
    return this.length
  }

  get capacity(): number {
    return this.buffer.length / this.rowSize
  }

  /** The valid prefix as the `past_kv` input [offset, layers, 2, heads, head_dim] (no copy). */
  past(): ort.Tensor {
    const {layers, heads, headDim} = this.layout
    return f32(this.buffer.subarray(0, this.length * this.rowSize), [this.length, layers, 2, heads, headDim])
  }

  /** Writes `rows` new positions (the `new_kv` output) at the current offset. */
  append(rows: Float32Array): void {
    const count = rows.length / this.rowSize
    this.ensureCapacity(this.length + count)
    this.buffer.set(rows, this.length * this.rowSize)
    this.length += count
  }

  /** Makes this cache a copy of `other`'s valid prefix (the per-chunk copy of the voice state). */
  copyFrom(other: KvCache): void {
    this.ensureCapacity(other.length)
    this.buffer.set(other.buffer.subarray(0, other.length * other.rowSize))
    this.length = other.length
  }

  /** Forgets everything (positions are overwritten before they are read again). */
  clear(): void {
    this.length = 0
  }

  /** Grows the buffer to at least `positions` rows (zero-filled), keeping the valid prefix. */
  ensureCapacity(positions: number): void {
    if (positions <= this.capacity) return
    const grown = new Float32Array(Math.max(positions, this.capacity * 2) * this.rowSize)
    grown.set(this.buffer.subarray(0, this.length * this.rowSize))
    this.buffer = grown
  }

  /** Per-layer caches in upstream's voice-state layout: [2, 1, offset, heads, head_dim] each. */
  toLayerCaches(): Float32Array[] {
    const {layers, heads, headDim} = this.layout
    const block = heads * headDim
    return Array.from({length: layers}, (_, layer) => {
      const out = new Float32Array(2 * this.length * block)
      for (let kv = 0; kv < 2; kv += 1) {
        for (let pos = 0; pos < this.length; pos += 1) {
          const src = pos * this.rowSize + (layer * 2 + kv) * block
          out.set(this.buffer.subarray(src, src + block), (kv * this.length + pos) * block)
        }
      }
      return out
    })
  }

  /**
   * Fills the cache from per-layer caches in upstream's voice-state layout [2, 1, length, heads, head_dim],
   * keeping the first `positions` (upstream's offset; `length` may be larger).
   */
  static fromLayerCaches(layout: KvLayout, caches: readonly Float32Array[], positions: number, capacity = positions, length = positions): KvCache {
    const cache = new KvCache(layout, Math.max(capacity, positions))
    const block = layout.heads * layout.headDim
    caches.forEach((layerCache, layer) => {
      for (let kv = 0; kv < 2; kv += 1) {
        for (let pos = 0; pos < positions; pos += 1) {
          const src = (kv * length + pos) * block
          cache.buffer.set(layerCache.subarray(src, src + block), pos * cache.rowSize + (layer * 2 + kv) * block)
        }
      }
    })
    cache.length = positions
    return cache
  }
}
