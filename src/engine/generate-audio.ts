import {CancelledError} from '../errors/index.js'
import type {BatchStream, FlowLmBatcher} from '../flowlm/flow-lm-batcher.js'
import {flowLmStep} from '../flowlm/flow-lm-step.js'
import {KvCache, type KvLayout} from '../flowlm/kv-cache.js'
import {sampleLatent} from '../flowlm/sample-latent.js'
import type {MimiWorkerStream, TimedFrame} from '../mimi/mimi-decode-worker.js'
import {MimiDecoderStream} from '../mimi/mimi-decoder-stream.js'
import {runGraph} from '../onnx/run-graph.js'
import {floats, i64} from '../onnx/tensors.js'
import {prepareChunks, type TextChunk} from '../text/index.js'
import type {EngineModel} from './engine-model.js'
import {applyFadeIn, fadeInCurve} from './fade-in.js'
import type {GenerationParams} from './generation-params.js'
import type {GenerationTaps} from './generation-taps.js'
import {mimiCallFrames, mimiWorkerGroup} from './mimi-grouping.js'
import type {NoiseSource} from './noise/index.js'

export interface GenerateAudioParams {
  readonly model: EngineModel
  /** The voice state: the FlowLM KV cache after the voice prefill. Not modified. */
  readonly voice: KvCache
  readonly text: string
  readonly params: GenerationParams
  readonly noise: NoiseSource
  readonly signal?: AbortSignal
  readonly taps?: GenerationTaps
  /**
   * Share the FlowLM calls with the other generations of a server (issue 19): each chunk's text prefill (with its
   * first AR step) and its later steps run as rows of batched FlowLM calls, and the solo FlowLM graphs are not
   * used. Not used with a step tap (per-layer outputs are the solo graph's).
   * @default the model's own (EngineModel.batcher), if it was loaded for batching
   */
  readonly batcher?: FlowLmBatcher
  /**
   * Without the Mimi worker: decode in the worker's frame groups (mimiCallFrames: the chunk's first frame alone, then
   * the ramp to the decoder's group per call, mimiWorkerGroup) rather than one frame per call. A server's generations, batched or
   * interleaved, share the cores, and each call pays the decoder's ~600 small nodes once for its frames.
   * @default true with a batcher, else false (one frame per call: parity checks and golden replays)
   */
  readonly mimiGroups?: boolean
}

/** One decoded frame: 1920 samples at 24 kHz, not clamped. */
export interface AudioFrame {
  readonly chunk: number
  readonly frame: number
  readonly audio: Float32Array
}

/**
 * Upstream's generation loop (`TTSModel.generate_audio_stream`), frame by frame:
 *   text → chunks; per chunk: copy of the voice state → text prefill (one noise draw, discarded) →
 *   AR steps from the latent BOS: FlowLM step → EOS check → noise → sampler head (the export's: LSD, or one
 *   call of a one-step head) → Mimi decode of the latent (streaming state, reset per chunk) → yield 1920 samples.
 * A chunk ends `framesAfterEos` steps after the first EOS (that step's latent is dropped) or at `maxGenLen`
 * (with `params.fixedFrames`: after exactly that many frames, EOS ignored). With the export's combined step graph
 * (model.stepWithHead, one-step heads) the FlowLM step and the head are one call, the step's noise drawn before it
 * (the same draws in the same order). 4.x exports (model.release): EOS is
 * ignored on the first `eosMinStep` steps, and each chunk's first audio is faded in over `fadeInMs`.
 *
 * With the model's Mimi worker (`loadEngineModel({mimiWorker: true})`) frames are decoded on the worker while
 * the main thread runs the next steps, as upstream's decoder thread does: the first frame of a chunk is yielded
 * as soon as it is decoded, later ones as soon as they are ready (the generator runs at most decoder.inFlight frames
 * ahead). Results are the same either way.
 */
export async function* generateAudio(params: GenerateAudioParams): AsyncGenerator<AudioFrame, void, undefined> {
  const {model, params: gen, noise, taps} = params
  const {dims, sessions, facts: release, stepWithHead} = model
  const fadeIn = fadeInCurve(dims.sampleRate, release.fadeInMs)
  const {chunks} = await prepareChunks({
    tokenizer: model.text.tokenizer,
    text: params.text,
    config: model.text.config,
    maxTokens: gen.maxTokens,
    framesAfterEos: gen.framesAfterEos,
  })
  const fixedFrames = gen.fixedFrames ?? null
  const withLayers = taps?.step !== undefined
  const batcher = withLayers ? undefined : (params.batcher ?? model.batcher)
  // batched: the rows live in the batcher's cache, each chunk joins with a copy of the voice state
  const kv = batcher === undefined ? acquireKvCache(model, params.voice.layout) : null
  const decoder = openDecoder(model, params.mimiGroups ?? batcher !== undefined)
  let row: BatchStream | undefined
  // Frames decoded (or being decoded) but not yet yielded, oldest first; latents waiting to fill a group.
  const queued: Tracked[] = []
  const grouped: Float32Array[] = []
  try {
    for (const [index, chunk] of chunks.entries()) {
      throwIfAborted(params.signal)
      const stepLimit = fixedFrames ?? chunk.maxGenLen
      kv?.copyFrom(params.voice)
      kv?.ensureCapacity(params.voice.offset + chunk.ids.length + stepLimit)
      decoder.reset()
      const e0 = performance.now()
      const textEmbeddings = await embedText(model, chunk)
      const e1 = performance.now()
      taps?.chunkStart?.({
        chunk: index,
        text: chunk.prepared,
        ids: chunk.ids,
        framesAfterEos: chunk.framesAfterEos,
        maxGenLen: chunk.maxGenLen,
        textEmbeddings,
      })
      // The text prefill and the first AR step (the latent BOS) run as one flow_lm_main call: one pass over the
      // weights instead of two (the causal mask makes it the same computation as upstream's prefill then step).
      // Batched: that call is a row of the batch's next call, and the first step's LSD decode runs with it. With
      // the combined step graph the call also samples step 0's latent. Either way step 0's noise is drawn after the
      // prefill's, as upstream draws them.
      const p0 = performance.now()
      let first: {hidden: Float32Array; eosLogit: number; layerOut?: Float32Array; latent?: Float32Array}
      let prefillNoise: Float32Array
      let firstNoise: Float32Array | undefined
      if (batcher !== undefined) {
        row = batcher.join(params.voice)
        prefillNoise = noise.next(dims.latentDim)
        firstNoise = noise.next(dims.latentDim)
        first = await row.step({conditioning: textEmbeddings, latent: null, noise: firstNoise, lsdSteps: gen.lsdDecodeSteps})
      } else {
        const early = stepWithHead === undefined ? undefined : noise.next(dims.latentDim)
        firstNoise = stepWithHead === undefined ? undefined : noise.next(dims.latentDim)
        first = await flowLmStep({
          session: stepWithHead ?? sessions.flow_lm_main,
          kv: kv as KvCache,
          state: model.flowLmState,
          dModel: dims.dModel,
          latentDim: dims.latentDim,
          conditioning: textEmbeddings,
          latent: null,
          withLayers,
          ...(firstNoise === undefined ? {} : {noise: firstNoise}),
        })
        prefillNoise = early ?? noise.next(dims.latentDim) // upstream samples (and drops) a latent here
      }
      taps?.prefill?.({chunk: index, tokens: chunk.ids.length, embedMs: e1 - e0, prefillMs: performance.now() - p0, withFirstStep: true})
      taps?.prefillNoise?.({chunk: index, noise: prefillNoise})

      let yielded = 0
      const emit = async (frame: TimedFrame): Promise<AudioFrame> => {
        const audio = yielded === 0 && fadeIn.length > 0 ? applyFadeIn(frame.audio, fadeIn) : frame.audio
        taps?.frame?.({chunk: index, frame: yielded, mimiInput: frame.mimiInput, audio, mimiMs: frame.ms})
        yielded += 1
        return {chunk: index, frame: yielded - 1, audio}
      }
      let input: Float32Array | null = null
      let eosStep: number | null = null
      let frames = 0
      let calls = 0 // decode calls of this chunk
      let steps = 0
      for (let step = 0; step < stepLimit; step += 1) {
        throwIfAborted(params.signal)
        const t0 = performance.now()
        let out: {hidden: Float32Array; eosLogit: number; layerOut?: Float32Array}
        let t1: number
        let stepNoise: Float32Array
        let latent: Float32Array
        if (row !== undefined) {
          stepNoise = step === 0 ? (firstNoise as Float32Array) : noise.next(dims.latentDim)
          const batched = step === 0 ? first : await row.step({latent: input, noise: stepNoise, lsdSteps: gen.lsdDecodeSteps})
          out = batched
          latent = batched.latent as Float32Array
          t1 = performance.now()
        } else {
          // With the combined step graph one call makes the FlowLM step and the one-step head's latent, its noise
          // drawn before the call; otherwise the sampler head runs after the step with noise drawn then.
          const headNoise = stepWithHead === undefined ? undefined : step === 0 ? (firstNoise as Float32Array) : noise.next(dims.latentDim)
          const stepped =
            step === 0
              ? first
              : await flowLmStep({
                  session: stepWithHead ?? sessions.flow_lm_main,
                  kv: kv as KvCache,
                  state: model.flowLmState,
                  dModel: dims.dModel,
                  latentDim: dims.latentDim,
                  latent: input,
                  withLayers,
                  ...(headNoise === undefined ? {} : {noise: headNoise}),
                })
          out = stepped
          t1 = performance.now()
          if (headNoise !== undefined) {
            stepNoise = headNoise
            latent = stepped.latent as Float32Array
          } else {
            stepNoise = noise.next(dims.latentDim)
            latent = await sampleLatent({
              session: sessions.flow_lm_flow,
              sampler: release.sampler.type,
              hidden: out.hidden,
              noise: stepNoise,
              steps: gen.lsdDecodeSteps,
            })
          }
        }
        steps += 1
        taps?.step?.({
          chunk: index,
          step,
          input,
          hidden: out.hidden,
          eosLogit: out.eosLogit,
          ...(out.layerOut === undefined ? {} : {layerOut: out.layerOut}),
          noise: stepNoise,
          latent,
          flowLmMs: step === 0 ? Number.NaN : t1 - t0,
          flowHeadMs: performance.now() - t1,
        })
        if (fixedFrames === null) {
          if (out.eosLogit > gen.eosThreshold && eosStep === null && step >= release.eosMinStep) eosStep = step
          if (eosStep !== null && step >= eosStep + chunk.framesAfterEos) break
        }
        // Frames go to the decoder in fixed groups (the chunk's first alone, for the time to first audio; then
        // decoder.callFrames(call) at a time): always the same grouping, so the same seed gives the same bytes on
        // the same CPU type.
        grouped.push(latent)
        if (grouped.length === decoder.callFrames(calls)) {
          queued.push(...decoder.decode(grouped.splice(0)).map(track))
          calls += 1
        }
        frames += 1
        input = latent
        // Frame 0 goes out at once (time to first audio). After it, frames go out as soon as they are decoded,
        // and this thread only waits when more than decoder.inFlight are outstanding: the worker decodes while the
        // next steps run. Without the worker there is nothing to overlap: each frame is decoded before the
        // next step.
        const limit = decoder.pipelined && yielded > 0 ? decoder.inFlight : 0
        while (queued.length > 0 && ((queued[0] as Tracked).done || queued.length > limit))
          yield await emit(await (queued.shift() as Tracked).frame)
      }
      row?.leave()
      row = undefined
      if (grouped.length > 0) queued.push(...decoder.decode(grouped.splice(0)).map(track))
      while (queued.length > 0) yield await emit(await (queued.shift() as Tracked).frame)
      taps?.chunkEnd?.({chunk: index, eosStep, steps, frames})
    }
  } finally {
    row?.leave()
    for (const item of queued.splice(0)) item.frame.catch(() => undefined) // abandoned (error, cancel, early return)
    decoder.close()
    if (kv !== null) releaseKvCache(model, kv)
  }
}

/**
 * Caches of finished generations, per model: a new 30 MB cache per generation costs its zero-filling and page
 * faults (1-20 ms with the GC) before the first audio; a reused one is only overwritten.
 */
const idleKvCaches = new WeakMap<EngineModel, KvCache[]>()

function acquireKvCache(model: EngineModel, layout: KvLayout): KvCache {
  const idle = idleKvCaches.get(model) ?? []
  const index = idle.findIndex(
    (c) => c.layout.layers === layout.layers && c.layout.heads === layout.heads && c.layout.headDim === layout.headDim,
  )
  if (index < 0) return new KvCache(layout, model.kvCapacity)
  const [cache] = idle.splice(index, 1) as [KvCache]
  cache.clear()
  return cache
}

function releaseKvCache(model: EngineModel, cache: KvCache): void {
  const idle = idleKvCaches.get(model) ?? []
  if (idle.length < MAX_IDLE_KV_CACHES) idle.push(cache)
  idleKvCaches.set(model, idle)
}

/** Idle caches kept per model (one per concurrent generation a server runs is enough). */
const MAX_IDLE_KV_CACHES = 4

/** A frame being decoded, and whether it is ready (set when its promise settles). */
interface Tracked {
  readonly frame: Promise<TimedFrame>
  done: boolean
}

function track(frame: Promise<TimedFrame>): Tracked {
  const item: Tracked = {frame, done: false}
  frame.then(
    () => (item.done = true),
    () => (item.done = true),
  )
  return item
}

/** The frame decoder of one generation: the model's worker when it has one, else Mimi on this thread. */
interface FrameDecoder {
  /** True when decoding runs beside this thread (worth keeping frames in flight). */
  readonly pipelined: boolean
  /** Consecutive frames the `call`-th decode call of a chunk carries. */
  callFrames(call: number): number
  /** Frames being decoded on the worker that the generating thread may run ahead of: a call being decoded and the next. */
  readonly inFlight: number
  /** Queues consecutive latents (callFrames of this call), decoded in one call: one promise per frame. */
  decode(latents: readonly Float32Array[]): Promise<TimedFrame>[]
  reset(): void
  close(): void
}

/**
 * `grouped`: without the worker, frames still go to Mimi in the worker's groups (the first alone, then the ramp to
 * the decoder's group per call): a server's generations (batched or interleaved), where several streams' Mimi calls
 * share the cores and the per-call cost of the decoder's small nodes would otherwise be paid for every frame of every
 * stream.
 */
function openDecoder(model: EngineModel, grouped: boolean): FrameDecoder {
  if (model.mimiWorker !== undefined) {
    const stream: MimiWorkerStream = model.mimiWorker.openStream()
    const {maxFrames} = model.mimiWorker
    return {
      pipelined: true,
      callFrames: (call) => mimiCallFrames(call, maxFrames, model.dims.mimiInputDim),
      inFlight: 2 * mimiWorkerGroup(model.dims.mimiInputDim),
      decode: (latents) => stream.decodeLatents(latents),
      reset: () => stream.reset(),
      close: () => stream.close(),
    }
  }
  const {dims, sessions} = model
  const stream = new MimiDecoderStream({
    latentToMimi: sessions.latent_to_mimi,
    decoder: sessions.mimi_decoder,
    states: model.mimiStates,
    mimiInputDim: dims.mimiInputDim,
    latentDim: dims.latentDim,
  })
  if (grouped) {
    return {
      pipelined: false,
      callFrames: (call) => mimiCallFrames(call, model.mimiMaxFrames, dims.mimiInputDim),
      inFlight: 0,
      decode: (latents) => {
        const start = performance.now()
        const frames = stream
          .decodeLatents(latents)
          .then((decoded) => decoded.map((f) => ({...f, ms: (performance.now() - start) / latents.length})))
        return latents.map((_, j) => frames.then((decoded) => decoded[j] as TimedFrame))
      },
      reset: () => stream.reset(),
      close: () => undefined,
    }
  }
  return {
    pipelined: false,
    callFrames: () => 1,
    inFlight: 0,
    decode: (latents) =>
      latents.map(async (latent) => {
        const start = performance.now()
        const frame = await stream.decodeLatent(latent)
        return {...frame, ms: performance.now() - start}
      }),
    reset: () => stream.reset(),
    close: () => undefined,
  }
}

async function embedText(model: EngineModel, chunk: TextChunk): Promise<Float32Array> {
  const out = await runGraph('text_conditioner', model.sessions.text_conditioner, {tokens: i64(chunk.ids, [1, chunk.ids.length])})
  return floats(out['text_embeddings'], 'text_embeddings')
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new CancelledError({code: 'CANCELLED', message: 'Synthesis was cancelled.'})
}
