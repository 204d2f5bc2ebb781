import {loadAudioPrompt, type PromptAudioWarning} from '../audio/index.js'
import {writeVoiceState} from '../voice/write-voice-state.js'
import type {EngineModel} from './engine-model.js'
import {SeededNormalNoise} from './noise/index.js'
import {voiceKvFromPromptAudio} from './prefill-voice.js'

export interface ExportVoiceNativeParams {
  readonly model: EngineModel
  /** The WAV voice prompt. */
  readonly prompt: string
  /** Destination `.safetensors` (written atomically). */
  readonly out: string
  /** Keep the first N seconds, as upstream's export-voice (30). */
  readonly truncateSeconds?: number
}

export interface ExportVoiceNativeResult {
  readonly out: string
  /** Prompt seconds used (after truncation), at the model's rate. */
  readonly promptSeconds: number
  readonly latentFrames: number
  /** Voice state positions (latent frames, + 1 with the voice BOS). */
  readonly positions: number
  /** A silent or very short prompt (the file is still written). */
  readonly warnings: readonly PromptAudioWarning[]
}

/**
 * Upstream's `export-voice` without Python: read the prompt (30 s, 24 kHz; 4.x: trimmed by end_on_pause), Mimi-encode and project it
 * (mimi_encoder), prefill the FlowLM on it (flow_lm_main), and write the KV state as upstream does.
 */
export async function exportVoiceNative(params: ExportVoiceNativeParams): Promise<ExportVoiceNativeResult> {
  const {model} = params
  const prompt = await loadAudioPrompt({
    path: params.prompt,
    truncateSeconds: params.truncateSeconds ?? 30,
    sampleRate: model.dims.sampleRate,
  })
  // The prefill's sampled latent is discarded upstream, so the noise it draws does not matter here.
  const {kv, latentFrames} = await voiceKvFromPromptAudio({
    model,
    audio: prompt.audio,
    noise: new SeededNormalNoise({seed: 0, temperature: 0}),
  })
  await writeVoiceState({
    path: params.out,
    state: {
      layers: kv.toLayerCaches().map((cache) => ({cache, length: kv.offset})),
      offset: kv.offset,
      heads: model.dims.heads,
      headDim: model.dims.headDim,
    },
    padKeys: model.facts.voicePadKeys,
  })
  return {
    out: params.out,
    promptSeconds: prompt.audio.length / prompt.sampleRate,
    latentFrames,
    positions: kv.offset,
    warnings: prompt.warnings,
  }
}
