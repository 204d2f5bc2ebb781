import type * as ort from 'onnxruntime-node'
import {f32} from '../onnx/tensors.js'

/** Dimensions of one FlowLM KV row: [layers, k|v, heads, head_dim] per position. */
export interface KvLayout {
  readonly layers: number
  readonly heads: number
  readonly headDim: number
}

/** One past-K or past-V input of `flow_lm_main` and the slice of the stacked output that extends it. */
export interface KvInputLink {
  /** The graph input (`past_k.<i>` / `past_v.<i>` in current exports; the engine does not rely on the name). */
  readonly input: string
  /** The link's `index[0]`: the layer, `output[:, layer, kv]` holds this input's new rows. */
  readonly layer: number
  /** The link's `index[1]`: 0 for keys, 1 for values. */
  readonly kv: 0 | 1
}

/**
 * The FlowLM KV cache as the runtime keeps it: per layer and k|v, a preallocated zero-initialised buffer
 * [capacity, heads, head_dim] (upstream's own cache layout, time-major). `flow_lm_main` takes each buffer's valid
 * prefix as its own input (zero-copy views, see `feeds`; which input is which buffer comes from the manifest's
 * state table, see flowLmStateTable) and returns only the new rows (`new_kv`, time-major
 * [new_len, layers, 2, heads, head_dim]), which `append` writes at `offset`. Nothing copies the whole cache per step.
 */
export class KvCache {
  /** Buffer of layer i, k (c=0) or v (c=1), at index 2·i + c. */
  private buffers: Float32Array[]
  private length = 0
  private cap: number
  /** Floats per position of the whole cache (all layers, k and v): a `new_kv` row. */
  readonly rowSize: number
  /** Floats per position of one layer's k or v. */
  readonly blockSize: number

  constructor(
    readonly layout: KvLayout,
    capacity: number,
  ) {
    this.blockSize = layout.heads * layout.headDim
    this.rowSize = layout.layers * 2 * this.blockSize
    this.cap = Math.max(1, capacity)
    this.buffers = Array.from({length: 2 * layout.layers}, () => new Float32Array(this.cap * this.blockSize))
  }

  /** Positions written so far (upstream's `offset`). */
  get offset(): number {
    return this.length
  }

  get capacity(): number {
    return this.cap
  }

  /**
   * The past inputs of `flow_lm_main`, one per state-table link: the valid prefix of buffer (layer, k|v) as
   * [1, offset, heads, head_dim], a view (no copy). A graph that needs `minRows` past rows (its manifest's
   * `capacities.min_past_rows`) gets a shorter prefix behind zero rows, which sit before position 0 and which its
   * mask drops (a copy; only a first prefill is that short).
   */
  feeds(links: readonly KvInputLink[], minRows = 0): Record<string, ort.Tensor> {
    const {heads, headDim} = this.layout
    const rows = Math.max(this.length, minRows)
    const feeds: Record<string, ort.Tensor> = {}
    for (const link of links) {
      const buffer = this.buffers[2 * link.layer + link.kv]
      if (buffer === undefined) throw new RangeError(`KvCache has ${this.layout.layers} layers; a link feeds layer ${link.layer}`)
      const valid = buffer.subarray(0, this.length * this.blockSize)
      let data = valid
      if (rows > this.length) {
        data = new Float32Array(rows * this.blockSize)
        data.set(valid, (rows - this.length) * this.blockSize)
      }
      feeds[link.input] = f32(data, [1, rows, heads, headDim])
    }
    return feeds
  }

  /** The valid prefix as one time-major tensor [offset, layers, 2, heads, head_dim] (a copy), `new_kv`'s layout: parity. */
  past(): ort.Tensor {
    const {layers, heads, headDim} = this.layout
    const out = new Float32Array(this.length * this.rowSize)
    for (let pos = 0; pos < this.length; pos += 1) {
      for (let b = 0; b < 2 * layers; b += 1) {
        const src = (this.buffers[b] as Float32Array).subarray(pos * this.blockSize, (pos + 1) * this.blockSize)
        out.set(src, pos * this.rowSize + b * this.blockSize)
      }
    }
    return f32(out, [this.length, layers, 2, heads, headDim])
  }

  /** Writes `rows` new positions (the `new_kv` output, time-major: row block (layer, k|v) into buffer 2·layer + k|v) at the current offset. */
  append(rows: Float32Array): void {
    const count = rows.length / this.rowSize
    this.ensureCapacity(this.length + count)
    for (let r = 0; r < count; r += 1) {
      const pos = this.length + r
      for (let b = 0; b < this.buffers.length; b += 1) {
        const start = r * this.rowSize + b * this.blockSize
        ;(this.buffers[b] as Float32Array).set(rows.subarray(start, start + this.blockSize), pos * this.blockSize)
      }
    }
    this.length += count
  }

  /** Makes this cache a copy of `other`'s valid prefix (the per-chunk copy of the voice state). */
  copyFrom(other: KvCache): void {
    this.ensureCapacity(other.length)
    const floats = other.length * other.blockSize
    other.buffers.forEach((buffer, b) => (this.buffers[b] as Float32Array).set(buffer.subarray(0, floats)))
    this.length = other.length
  }

  /** Forgets everything (positions are overwritten before they are read again). */
  clear(): void {
    this.length = 0
  }

  /** Grows the buffers to at least `positions` rows (zero-filled), keeping the valid prefix. */
  ensureCapacity(positions: number): void {
    if (positions <= this.cap) return
    const cap = Math.max(positions, this.cap * 2)
    this.buffers = this.buffers.map((old) => {
      const grown = new Float32Array(cap * this.blockSize)
      grown.set(old.subarray(0, this.length * this.blockSize))
      return grown
    })
    this.cap = cap
  }

  /** Per-layer caches in upstream's voice-state layout: [2, 1, offset, heads, head_dim] each. */
  toLayerCaches(): Float32Array[] {
    const floats = this.length * this.blockSize
    return Array.from({length: this.layout.layers}, (_, layer) => {
      const out = new Float32Array(2 * floats)
      out.set((this.buffers[2 * layer] as Float32Array).subarray(0, floats), 0)
      out.set((this.buffers[2 * layer + 1] as Float32Array).subarray(0, floats), floats)
      return out
    })
  }

  /**
   * Fills the cache from per-layer caches in upstream's voice-state layout [2, 1, length, heads, head_dim],
   * keeping the first `positions` (upstream's offset; `length` may be larger).
   */
  static fromLayerCaches(
    layout: KvLayout,
    caches: readonly Float32Array[],
    positions: number,
    capacity = positions,
    length = positions,
  ): KvCache {
    const cache = new KvCache(layout, Math.max(capacity, positions))
    const floats = positions * cache.blockSize
    caches.forEach((layerCache, layer) => {
      for (let c = 0; c < 2; c += 1) {
        const start = c * length * cache.blockSize
        ;(cache.buffers[2 * layer + c] as Float32Array).set(layerCache.subarray(start, start + floats))
      }
    })
    cache.length = positions
    return cache
  }
}
