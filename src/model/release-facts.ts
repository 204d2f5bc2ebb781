import {ModelError} from '../errors/index.js'
import {isUpstreamRelease, type UpstreamRelease} from '../upstream/upstream-releases.js'
import type {ExportManifest, ModelFacts} from './manifest-types.js'

/** The sampler heads upstream 4.x has (`flow_lm.flow.type`); 2.1.0 has LSD only. */
export const SAMPLER_TYPES = ['lsd', 'drifting', 'pointwise', 'flow_matching'] as const
export type SamplerType = (typeof SAMPLER_TYPES)[number]

/**
 * The release-dependent facts of an export (docs: the issue 16 export contract), as the engine uses them.
 * Exports written before these facts existed are 2.1.0 exports: they get 2.1.0's values.
 */
export interface ReleaseFacts {
  readonly upstream: UpstreamRelease
  /** FlowLM KV heads (fewer than num_heads with grouped-query attention): the KV cache and voice-file layout. */
  readonly numKvHeads: number
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

/** What 2.1.0 exports (and any export that does not say) mean. */
const V2_1_0: Omit<ReleaseFacts, 'numKvHeads'> = {
  upstream: '2.1.0',
  sampler: {type: 'lsd', decodeSteps: 1},
  defaultTemperature: 0.7,
  defaultEosThreshold: -4,
  eosMinStep: 0,
  fadeInMs: 0,
  endOnPauseVoice: false,
  voicePadKeys: false,
}

/** The contract's ModelFacts fields, optional: exports made before them do not have them. */
type ContractFacts = Partial<{
  upstream: string
  num_kv_heads: number
  sampler: {type: string; decode_steps: number}
  default_temperature: number
  default_eos_threshold: number
  eos_min_step: number
  fade_in_ms: number
  end_on_pause_voice: boolean
}>

/** Reads an export's release facts (manifest.model, then exporter.upstream), defaulting to 2.1.0's. */
export function releaseFacts(manifest: Pick<ExportManifest, 'model' | 'exporter'>): ReleaseFacts {
  const m = manifest.model as ModelFacts & ContractFacts
  const recorded = m.upstream ?? manifest.exporter['upstream']
  const upstream: UpstreamRelease = typeof recorded === 'string' && isUpstreamRelease(recorded) ? recorded : '2.1.0'
  const v4 = upstream !== '2.1.0'
  const type = m.sampler?.type ?? 'lsd'
  if (!(SAMPLER_TYPES as readonly string[]).includes(type)) {
    throw new ModelError({
      code: 'MANIFEST_INVALID',
      message: `The export's sampler type "${type}" is not one this runtime runs (${SAMPLER_TYPES.join(', ')}).`,
      hint: 'Export the model again with this version of pockettts, or update pockettts.',
    })
  }
  return {
    upstream,
    numKvHeads: m.num_kv_heads ?? m.num_heads,
    sampler: {type: type as SamplerType, decodeSteps: m.sampler?.decode_steps ?? V2_1_0.sampler.decodeSteps},
    defaultTemperature: m.default_temperature ?? (v4 ? 0.3 : V2_1_0.defaultTemperature),
    defaultEosThreshold: m.default_eos_threshold ?? V2_1_0.defaultEosThreshold,
    eosMinStep: m.eos_min_step ?? (v4 ? 6 : V2_1_0.eosMinStep),
    fadeInMs: m.fade_in_ms ?? (v4 ? 5 : V2_1_0.fadeInMs),
    endOnPauseVoice: m.end_on_pause_voice ?? (v4 ? true : V2_1_0.endOnPauseVoice),
    voicePadKeys: v4,
  }
}
