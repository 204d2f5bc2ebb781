import type * as ort from 'onnxruntime-node'
import {ModelError} from '../errors/index.js'
import {runGraph} from '../onnx/run-graph.js'
import {f32, floats, i64} from '../onnx/tensors.js'
import {BatchKv} from './batch-kv.js'
import type {KvCache, KvInputLink, KvLayout} from './kv-cache.js'

/** The optional batched graphs of an export (`flow_lm_step_batched`, `flow_lm_flow_batched`). */
export interface BatchedSessions {
  readonly step: ort.InferenceSession
  readonly flow: ort.InferenceSession
}

export interface FlowLmBatcherParams {
  readonly sessions: BatchedSessions
  /** The step graph's past inputs: `past_k.<i>`/`past_v.<i>`, as the solo graph's state table names them. */
  readonly links: readonly KvInputLink[]
  readonly layout: KvLayout
  readonly dModel: number
  readonly latentDim: number
  /**
   * How long a step waits for streams that are not ready yet (busy with their audio) before running
   * without them, in ms. A step runs at once when every stream in the batch is waiting for it. Measured on the
   * full-size model at 4 connections: 2 ms split the streams into alternating partial batches (1.7x the
   * interleaved throughput), 15 ms keeps them in step (2.3x) while a stalled client delays the others little.
   * @default 15
   */
  readonly waitMs?: number
}

/**
 * One FlowLM call's input for a stream, as a row of the batched call: new conditioning positions (a text prefill, or
 * a voice prefill), then its latent position (an AR step; null = the latent BOS), then the sampler's LSD decode
 * from `noise`. A chunk's first call carries the text prefill and the first step together.
 */
export interface BatchStepRequest {
  /** Conditioning positions before the latent, [n, dModel] flattened; absent for an AR step alone. */
  readonly conditioning?: Float32Array
  /** The step's previous latent (null = the latent BOS); undefined: no latent position (a voice prefill). */
  readonly latent?: Float32Array | null
  /** The sampler's noise; undefined: no sampling (a voice prefill). */
  readonly noise?: Float32Array
  readonly lsdSteps: number
}

export interface BatchStepResult {
  /** out_norm output at the row's last new position. */
  readonly hidden: Float32Array
  readonly eosLogit: number
  /** The LSD-decoded latent (upstream `lsd_decode` from the request's noise); empty when the request had no noise. */
  readonly latent: Float32Array
}

/** A stream's place in the batch: FlowLM calls one at a time, then `leave()` (idempotent). */
export interface BatchStream {
  step(request: BatchStepRequest): Promise<BatchStepResult>
  leave(): void
}

interface Member {
  row: number
  left: boolean
}

interface Pending {
  readonly member: Member
  readonly request: BatchStepRequest
  readonly resolve: (result: BatchStepResult) => void
  readonly reject: (reason: unknown) => void
}

/**
 * Continuous batching of FlowLM calls across streams (issue 19): a stream joins with its voice state, and its
 * chunk's text prefill (with the first AR step) is a row of the batch's next call, as is each later AR step;
 * streams leave between steps. Whenever calls are asked for, one `flow_lm_step_batched` call serves every
 * waiting stream (each row its own new positions at its own offset, over its own cache row), then the flow head
 * runs the LSD loop for the same rows in `flow_lm_flow_batched` calls. Voice prefills run as rows too
 * (`prefill`), so a batching server needs no solo FlowLM graph. Each row's arithmetic is the solo graph's, so
 * every stream's audio equals its solo run within the parity tolerances. One batched call runs at a time;
 * streams not ready for it take the next one.
 */
export class FlowLmBatcher {
  private readonly kv: BatchKv
  private readonly members: Member[] = []
  private pending: Pending[] = []
  private running = false
  private timer: NodeJS.Timeout | undefined
  private readonly waitMs: number
  /**
   * Rows that joined (streams' chunks and voice prefills), batched calls run, rows served, the most rows one call
   * served, prefill rows (with conditioning), calls in which a prefill row shared the call with other rows, and
   * cache rows exchanged to put a call's rows first (none when every stream is in the call).
   */
  readonly stats = {joins: 0, calls: 0, rows: 0, maxRows: 0, prefillRows: 0, sharedPrefillCalls: 0, rowSwaps: 0}

  constructor(private readonly params: FlowLmBatcherParams) {
    this.kv = new BatchKv(params.layout)
    this.waitMs = params.waitMs ?? 15
  }

  /** Streams in the batch. */
  get size(): number {
    return this.members.length
  }

  /** Adds a stream whose past is `voice` (copied; not modified): its first call is usually its text prefill. */
  join(voice: KvCache): BatchStream {
    const member = this.add(voice)
    return {
      step: (request) => this.enqueue(member, request),
      leave: () => this.leave(member),
    }
  }

  /**
   * Upstream's voice prefill (conditioning [n, dModel] flattened, on an empty cache) as a row of the batch's next
   * call: the voice state, as a cache of `capacity` positions.
   */
  async prefill(conditioning: Float32Array, capacity: number): Promise<KvCache> {
    const member = this.add(null)
    try {
      await this.enqueue(member, {conditioning, lsdSteps: 0})
      return this.kv.toCache(member.row, capacity)
    } finally {
      this.leave(member)
    }
  }

  /** Releases the batched sessions (after every stream has left). */
  async release(): Promise<void> {
    await Promise.all([this.params.sessions.step.release(), this.params.sessions.flow.release()])
  }

  private add(cache: KvCache | null): Member {
    const member: Member = {row: this.kv.add(cache), left: false}
    this.members.push(member)
    this.stats.joins += 1
    return member
  }

  private enqueue(member: Member, request: BatchStepRequest): Promise<BatchStepResult> {
    if (member.left) return Promise.reject(new RangeError('FlowLmBatcher: this stream has left the batch'))
    if (this.pending.some((p) => p.member === member)) return Promise.reject(new RangeError('FlowLmBatcher: one step at a time per stream'))
    const conditioning = (request.conditioning?.length ?? 0) / this.params.dModel
    if (!Number.isInteger(conditioning) || conditioning + (request.latent === undefined ? 0 : 1) < 1) {
      return Promise.reject(new RangeError('FlowLmBatcher: a call needs whole conditioning rows of dModel values, a latent, or both'))
    }
    return new Promise((resolve, reject) => {
      this.pending.push({member, request, resolve, reject})
      this.schedule()
    })
  }

  private leave(member: Member): void {
    if (member.left) return
    member.left = true
    const waiting = this.pending.find((p) => p.member === member)
    if (waiting !== undefined) {
      this.pending = this.pending.filter((p) => p !== waiting)
      waiting.reject(new RangeError('FlowLmBatcher: the stream left with a step pending'))
    }
    const moved = this.kv.remove(member.row)
    const index = this.members.indexOf(member)
    this.members.splice(index, 1)
    if (moved !== null) {
      const last = this.members.find((m) => m.row === moved)
      if (last !== undefined) last.row = member.row
    }
    this.schedule() // the streams still waiting may now be all of them
  }

  private schedule(): void {
    if (this.running || this.pending.length === 0) return
    if (this.pending.length >= this.members.length) {
      if (this.timer !== undefined) clearTimeout(this.timer)
      this.timer = undefined
      queueMicrotask(() => void this.run())
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined
        void this.run()
      }, this.waitMs)
    }
  }

  private async run(): Promise<void> {
    if (this.running || this.pending.length === 0) return
    this.running = true
    // in cache-row order: a call of every stream then needs no row exchange (each copies the rows' whole caches)
    const batch = this.pending.sort((a, b) => a.member.row - b.member.row)
    this.pending = []
    try {
      const results = await this.stepRows(batch)
      batch.forEach((p, i) => p.resolve(results[i] as BatchStepResult))
    } catch (error) {
      for (const p of batch) p.reject(error)
    } finally {
      this.running = false
      this.schedule()
    }
  }

  private async stepRows(batch: readonly Pending[]): Promise<BatchStepResult[]> {
    const {dModel, latentDim, sessions, links} = this.params
    // the call's rows first (swapping cache rows), so that the call runs only the streams waiting for it
    batch.forEach((p, i) => {
      const other = this.members.find((m) => m.row === i)
      if (other === undefined || other === p.member) return
      this.kv.swap(i, p.member.row)
      this.stats.rowSwaps += 1
      other.row = p.member.row
      p.member.row = i
    })
    const rows = batch.length // batch[i] is row i now
    const conds = batch.map((p) => (p.request.conditioning?.length ?? 0) / dModel)
    const lens = batch.map((p, i) => (conds[i] as number) + (p.request.latent === undefined ? 0 : 1))
    const tokens = lens.reduce((a, b) => a + b, 0)
    const width = Math.max(...lens)
    const conditioning = new Float32Array(tokens * dModel)
    const latents = new Float32Array(tokens * latentDim)
    const isLatent: number[] = []
    const tokenSlot: number[] = []
    const slotToken: number[] = new Array<number>(rows * width).fill(tokens)
    batch.forEach((p, row) => {
      const first = isLatent.length
      if (p.request.conditioning !== undefined) conditioning.set(p.request.conditioning, first * dModel)
      for (let j = 0; j < (conds[row] as number); j += 1) isLatent.push(0)
      if (p.request.latent !== undefined) {
        const at = isLatent.length * latentDim
        if (p.request.latent === null) latents.fill(Number.NaN, at, at + latentDim)
        else latents.set(p.request.latent, at)
        isLatent.push(1)
      }
      for (let j = 0; j < (lens[row] as number); j += 1) {
        tokenSlot.push(row * width + j)
        slotToken[row * width + j] = first + j
      }
    })
    const offsets = Array.from({length: rows}, (_, r) => this.kv.length(r))
    const out = await runGraph('flow_lm_step_batched', sessions.step, {
      conditioning: f32(conditioning, [tokens, dModel]),
      latents: f32(latents, [tokens, latentDim]),
      is_latent: i64(isLatent),
      offsets: i64(offsets),
      row_lens: i64(lens),
      token_slot: i64(tokenSlot),
      slot_token: i64(slotToken, [rows, width]),
      ...this.kv.feeds(links, lens),
    })
    this.kv.append(floats(out['new_kv'], 'new_kv'), lens)
    const hidden = floats(out['hidden'], 'hidden')
    const eos = floats(out['eos_logit'], 'eos_logit')
    const prefills = conds.filter((n) => n > 0).length
    this.stats.calls += 1
    this.stats.rows += rows
    this.stats.maxRows = Math.max(this.stats.maxRows, rows)
    this.stats.prefillRows += prefills
    if (prefills > 0 && rows > 1) this.stats.sharedPrefillCalls += 1
    if (hidden.length !== rows * dModel) {
      throw new ModelError({
        code: 'STATE_MISMATCH',
        message: `flow_lm_step_batched returned ${hidden.length} hidden values for ${rows} rows of ${dModel}.`,
        hint: 'The graph and its manifest disagree: export the model again, or run `pockettts model verify DIR`.',
      })
    }
    const rowHidden = batch.map((_, row) => hidden.slice(row * dModel, (row + 1) * dModel))
    const latentsOut = await this.lsdDecode(
      rowHidden,
      batch.map((p) => p.request),
    )
    return batch.map((_, row) => ({
      hidden: rowHidden[row] as Float32Array,
      eosLogit: eos[row] ?? Number.NaN,
      latent: latentsOut[row] as Float32Array,
    }))
  }

  /** Upstream `lsd_decode` per row (x += flow(hidden, i/K, (i+1)/K, x) / K, float32 rounding), rows of a step in one call. */
  private async lsdDecode(hidden: readonly Float32Array[], requests: readonly BatchStepRequest[]): Promise<Float32Array[]> {
    const {dModel, latentDim, sessions} = this.params
    const xs = requests.map((r) => (r.noise === undefined ? new Float32Array(0) : Float32Array.from(r.noise)))
    const steps = requests.map((r) => (r.noise === undefined ? 0 : r.lsdSteps))
    const maxSteps = Math.max(0, ...steps)
    for (let i = 0; i < maxSteps; i += 1) {
      const active = steps.flatMap((n, row) => (i < n ? [row] : []))
      const n = active.length
      const h = new Float32Array(n * dModel)
      const s = new Float32Array(n)
      const t = new Float32Array(n)
      const x = new Float32Array(n * latentDim)
      active.forEach((row, j) => {
        const steps = (requests[row] as BatchStepRequest).lsdSteps
        h.set(hidden[row] as Float32Array, j * dModel)
        s[j] = i / steps
        t[j] = (i + 1) / steps
        x.set(xs[row] as Float32Array, j * latentDim)
      })
      const out = await runGraph('flow_lm_flow_batched', sessions.flow, {
        hidden: f32(h, [n, dModel]),
        s: f32(s, [n, 1]),
        t: f32(t, [n, 1]),
        x: f32(x, [n, latentDim]),
      })
      const dir = floats(out['flow_dir'], 'flow_dir')
      active.forEach((row, j) => {
        const steps = (requests[row] as BatchStepRequest).lsdSteps
        const xr = xs[row] as Float32Array
        for (let k = 0; k < latentDim; k += 1) xr[k] = Math.fround((xr[k] ?? 0) + Math.fround((dir[j * latentDim + k] ?? 0) / steps))
      })
    }
    return xs
  }
}
