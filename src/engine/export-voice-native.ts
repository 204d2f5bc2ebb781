import {loadAudioPrompt, type PromptAudioWarning} from '../audio/index.js'
import {writeVoiceState, type WriteVoiceStateParams} from '../voice/write-voice-state.js'
import type {EngineModel} from './engine-model.js'
import {SeededNormalNoise} from './noise/index.js'
import {voiceKvFromPromptAudio} from './prefill-voice.js'

type VoiceStateForFile = WriteVoiceStateParams['state']

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
  const state = await voiceStateFromPromptAudio({model, audio: prompt.audio})
  await writeVoiceState({path: params.out, state, padKeys: model.facts.voicePadKeys})
  return {
    out: params.out,
    promptSeconds: prompt.audio.length / prompt.sampleRate,
    latentFrames: state.latentFrames,
    positions: state.offset,
    warnings: prompt.warnings,
  }
}

export interface VoiceStateFromAudioParams {
  readonly model: EngineModel
  /** Prompt samples at the model's rate, already truncated. */
  readonly audio: Float32Array
}

/** The voice state of prompt audio (Mimi-encode, project, prefill the FlowLM), as `writeVoiceState` takes it. */
export async function voiceStateFromPromptAudio(
  params: VoiceStateFromAudioParams,
): Promise<VoiceStateForFile & {readonly latentFrames: number}> {
  const {model} = params
  // The prefill's sampled latent is discarded upstream, so the noise it draws does not matter here.
  const {kv, latentFrames} = await voiceKvFromPromptAudio({
    model,
    audio: params.audio,
    noise: new SeededNormalNoise({seed: 0, temperature: 0}),
  })
  return {
    layers: kv.toLayerCaches().map((cache) => ({cache, length: kv.offset})),
    offset: kv.offset,
    heads: model.dims.heads,
    headDim: model.dims.headDim,
    latentFrames,
  }
}
