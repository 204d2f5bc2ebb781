import {CancelledError} from '../errors/index.js'
import {flowLmStep} from '../flowlm/flow-lm-step.js'
import {KvCache} from '../flowlm/kv-cache.js'
import {lsdDecode} from '../flowlm/lsd-decode.js'
import {MimiDecoderStream} from '../mimi/mimi-decoder-stream.js'
import {runGraph} from '../onnx/run-graph.js'
import {floats, i64} from '../onnx/tensors.js'
import {prepareChunks, type TextChunk} from '../text/index.js'
import type {EngineModel} from './engine-model.js'
import type {GenerationParams} from './generation-params.js'
import type {GenerationTaps} from './generation-taps.js'
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
 *   AR steps from the latent BOS: FlowLM step → EOS check → noise → LSD decode → Mimi decode of the latent
 *   (streaming state, reset per chunk) → yield 1920 samples.
 * A chunk ends `framesAfterEos` steps after the first EOS (that step's latent is dropped) or at `maxGenLen`.
 */
export async function* generateAudio(params: GenerateAudioParams): AsyncGenerator<AudioFrame, void, undefined> {
  const {model, params: gen, noise, taps} = params
  const {dims, sessions} = model
  const {chunks} = prepareChunks({
    tokenizer: model.text.tokenizer,
    text: params.text,
    config: model.text.config,
    maxTokens: gen.maxTokens,
    framesAfterEos: gen.framesAfterEos,
  })
  const kv = new KvCache(params.voice.layout, model.kvCapacity)
  const mimi = new MimiDecoderStream({
    latentToMimi: sessions.latent_to_mimi,
    decoder: sessions.mimi_decoder,
    states: model.mimiStates,
    mimiInputDim: dims.mimiInputDim,
    latentDim: dims.latentDim,
  })
  const withLayers = taps?.step !== undefined
  for (const [index, chunk] of chunks.entries()) {
    throwIfAborted(params.signal)
    kv.copyFrom(params.voice)
    kv.ensureCapacity(params.voice.offset + chunk.ids.length + chunk.maxGenLen)
    mimi.reset()
    const textEmbeddings = await embedText(model, chunk)
    taps?.chunkStart?.({chunk: index, text: chunk.text, ids: chunk.ids, framesAfterEos: chunk.framesAfterEos, maxGenLen: chunk.maxGenLen, textEmbeddings})
    await flowLmStep({session: sessions.flow_lm_main, kv, dModel: dims.dModel, latentDim: dims.latentDim, conditioning: textEmbeddings})
    const prefillNoise = noise.next(dims.latentDim) // upstream samples (and drops) a latent here
    taps?.prefillNoise?.({chunk: index, noise: prefillNoise})

    let input: Float32Array | null = null
    let eosStep: number | null = null
    let frames = 0
    let steps = 0
    for (let step = 0; step < chunk.maxGenLen; step += 1) {
      throwIfAborted(params.signal)
      const t0 = performance.now()
      const out = await flowLmStep({session: sessions.flow_lm_main, kv, dModel: dims.dModel, latentDim: dims.latentDim, latent: input, withLayers})
      const t1 = performance.now()
      steps += 1
      const stepNoise = noise.next(dims.latentDim)
      const latent = await lsdDecode({session: sessions.flow_lm_flow, hidden: out.hidden, noise: stepNoise, steps: gen.lsdDecodeSteps})
      taps?.step?.({
        chunk: index,
        step,
        input,
        hidden: out.hidden,
        eosLogit: out.eosLogit,
        ...(out.layerOut === undefined ? {} : {layerOut: out.layerOut}),
        noise: stepNoise,
        latent,
        flowLmMs: t1 - t0,
        flowHeadMs: performance.now() - t1,
      })
      if (out.eosLogit > gen.eosThreshold && eosStep === null) eosStep = step
      if (eosStep !== null && step >= eosStep + chunk.framesAfterEos) break
      const t2 = performance.now()
      const decoded = await mimi.decodeLatent(latent)
      taps?.frame?.({chunk: index, frame: frames, mimiInput: decoded.mimiInput, audio: decoded.audio, mimiMs: performance.now() - t2})
      yield {chunk: index, frame: frames, audio: decoded.audio}
      frames += 1
      input = latent
    }
    taps?.chunkEnd?.({chunk: index, eosStep, steps, frames})
  }
}

async function embedText(model: EngineModel, chunk: TextChunk): Promise<Float32Array> {
  const out = await runGraph('text_conditioner', model.sessions.text_conditioner, {tokens: i64(chunk.ids, [1, chunk.ids.length])})
  return floats(out['text_embeddings'], 'text_embeddings')
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new CancelledError({code: 'CANCELLED', message: 'Synthesis was cancelled.'})
}
