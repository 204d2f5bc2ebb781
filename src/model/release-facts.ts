import {ModelError} from '../errors/index.js'
import {isUpstreamRelease, type UpstreamRelease} from '../upstream/upstream-releases.js'
import type {ExportManifest, ModelFacts} from './manifest-types.js'

/** The sampler heads upstream 4.x has (`flow_lm.flow.type`); 2.1.0 has LSD only. */
export const SAMPLER_TYPES = ['lsd', 'drifting', 'pointwise', 'flow_matching'] as const
export type SamplerType = (typeof SAMPLER_TYPES)[number]

/**
 * The release-dependent facts of an export (manifest.model, docs/graph-contract.md), as the engine uses them.
 */
export interface ReleaseFacts {
  readonly upstream: UpstreamRelease
  /** FlowLM KV heads (fewer than num_heads with grouped-query attention): the KV cache and voice-file layout. */
  readonly numKvHeads: number
  /** Width of flow_lm_main's `hidden` and the sampler's condition (the config's z_dim when it projects, else d_model). */
  readonly hiddenDim: number
  readonly sampler: {readonly type: SamplerType; readonly decodeSteps: number}
  readonly defaultTemperature: number
  readonly defaultEosThreshold: number
  /** AR steps whose EOS is ignored (4.0.1: 6). */
  readonly eosMinStep: number
  /** Fade-in at the start of each chunk's audio, in ms (4.0.1: 5). */
  readonly fadeInMs: number
  /** Voice prompts are trimmed by upstream's end_on_pause before the encoder (4.0.1). */
  readonly endOnPauseVoice: boolean
  /** Voice files carry a `<module>/pad` key beside `cache` and `offset` (4.x). */
  readonly voicePadKeys: boolean
}

/** Reads an export's release facts (manifest.model; readManifest fills them for 2.1.0 exports made before them). */
export function releaseFacts(manifest: Pick<ExportManifest, 'model'>): ReleaseFacts {
  const m: ModelFacts = manifest.model
  if (!isUpstreamRelease(m.upstream)) {
    throw new ModelError({
      code: 'MANIFEST_INVALID',
      message: `The export was made from upstream pocket-tts ${m.upstream}, a release this runtime does not follow.`,
      hint: 'Export the model again from a supported release (pockettts model export --upstream), or update pockettts.',
    })
  }
  const type = m.sampler.type
  if (!(SAMPLER_TYPES as readonly string[]).includes(type)) {
    throw new ModelError({
      code: 'MANIFEST_INVALID',
      message: `The export's sampler type "${type}" is not one this runtime runs (${SAMPLER_TYPES.join(', ')}).`,
      hint: 'Export the model again with this version of pockettts, or update pockettts.',
    })
  }
  return {
    upstream: m.upstream,
    numKvHeads: m.num_kv_heads,
    hiddenDim: m.hidden_dim,
    sampler: {type, decodeSteps: m.sampler.decode_steps},
    defaultTemperature: m.default_temperature,
    defaultEosThreshold: m.default_eos_threshold,
    eosMinStep: m.eos_min_step,
    fadeInMs: m.fade_in_ms,
    endOnPauseVoice: m.end_on_pause_voice,
    voicePadKeys: m.upstream !== '2.1.0',
  }
}
