/** FlowLM shape facts a voice must fit (config `flow_lm.transformer`). */
export interface VoiceModelDims {
  readonly layers: number
  /** KV heads of the FlowLM attention (num_kv_heads; fewer than the query heads with grouped-query attention). */
  readonly heads: number
  /** Per-head width of the KV cache. */
  readonly headDim: number
  readonly dModel: number
}

/** One attention layer's KV cache after the voice prefill. */
export interface VoiceLayerState {
  /** float32 `[2, 1, length, heads, headDim]`, row-major (index 0 = keys, 1 = values). */
  readonly cache: Float32Array
  /** Positions stored in `cache` (its dim 2); positions from `offset` on are unused. */
  readonly length: number
}

/** A voice as a FlowLM KV state (what `export_model_state` / `pocket-tts export-voice` write). */
export interface KvVoiceState {
  readonly kind: 'kv-state'
  readonly layers: readonly VoiceLayerState[]
  /** Positions filled by the voice (upstream `offset`; from `current_end`'s length in legacy files). */
  readonly offset: number
  readonly heads: number
  readonly headDim: number
  /** The file used the legacy `current_end` key. */
  readonly legacyCurrentEnd: boolean
}

/**
 * A voice as speaker-projected conditioning `[1, frames, dModel]` (legacy v1 `audio_prompt` files).
 * It still needs the FlowLM prefill; models with `insert_bos_before_voice` need the voice BOS prepended
 * first.
 */
export interface PromptVoiceConditioning {
  readonly kind: 'audio-prompt'
  readonly conditioning: Float32Array
  readonly frames: number
  readonly dModel: number
}

export type VoiceState = KvVoiceState | PromptVoiceConditioning

/** Upstream's module name of FlowLM layer `i`'s attention (the key prefix in voice files). */
export function voiceLayerKey(layer: number): string {
  return `transformer.layers.${layer}.self_attn`
}
