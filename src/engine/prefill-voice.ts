import {endOnPause} from '../audio/end-on-pause.js'
import {flowLmStep} from '../flowlm/flow-lm-step.js'
import {KvCache} from '../flowlm/kv-cache.js'
import {encodeVoicePrompt} from '../voice/encode-voice-prompt.js'
import type {EngineModel} from './engine-model.js'
import type {NoiseSource} from './noise/index.js'

export interface PrefillVoiceParams {
  readonly model: EngineModel
  /** Voice conditioning [positions, dModel] flattened (voice BOS already first for v2 models). */
  readonly conditioning: Float32Array
  /** Upstream samples (and drops) a latent after the prefill: one draw is consumed. */
  readonly noise: NoiseSource
}

/**
 * Upstream's voice prefill: one FlowLM call over the conditioning on an empty cache (a row of the batcher's next
 * call when the model was loaded for batching).
 */
export async function prefillVoice(params: PrefillVoiceParams): Promise<KvCache> {
  const {model} = params
  if (model.batcher !== undefined) {
    const kv = await model.batcher.prefill(params.conditioning, model.kvCapacity)
    params.noise.next(model.dims.latentDim)
    return kv
  }
  const kv = new KvCache(model.dims, model.kvCapacity)
  await flowLmStep({
    session: model.sessions.flow_lm_main,
    kv,
    state: model.flowLmState,
    dModel: model.dims.dModel,
    latentDim: model.dims.latentDim,
    conditioning: params.conditioning,
  })
  params.noise.next(model.dims.latentDim)
  return kv
}

/**
 * A read prompt (24 kHz mono) to its voice KV, as upstream's voice path: (4.x exports: trimmed to end on a pause,
 * see endOnPause) Mimi-encode and project it, then prefill.
 */
export async function voiceKvFromPromptAudio(params: {
  readonly model: EngineModel
  readonly audio: Float32Array
  readonly noise: NoiseSource
}): Promise<{readonly kv: KvCache; readonly latentFrames: number}> {
  const {model} = params
  const encoded = await encodeVoicePrompt({
    encoder: await model.encoder(),
    audio: model.facts.endOnPauseVoice ? endOnPause(params.audio, model.dims.sampleRate) : params.audio,
    frameSize: model.dims.frameSize,
    dModel: model.dims.dModel,
  })
  return {kv: await prefillVoice({model, conditioning: encoded.conditioning, noise: params.noise}), latentFrames: encoded.frames}
}
