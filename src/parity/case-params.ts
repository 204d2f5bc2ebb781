import {defaultGenerationParams, type GenerationParams} from '../engine/generation-params.js'
import type {GoldenManifest} from '../golden/index.js'

/** The generation parameters a synthesis golden was recorded with (upstream's defaults where it is silent). */
export function caseParams(manifest: GoldenManifest): GenerationParams {
  const c = manifest.case ?? {text: ''}
  const finiteOr = (value: unknown, fallback: number): number => (typeof value === 'number' && Number.isFinite(value) ? value : fallback)
  return {
    temperature: finiteOr(c.temperature, defaultGenerationParams.temperature),
    lsdDecodeSteps: finiteOr(c.sampler_decode_steps ?? c.lsd_decode_steps, defaultGenerationParams.lsdDecodeSteps),
    noiseClamp: typeof c.noise_clamp === 'number' ? c.noise_clamp : null,
    eosThreshold: finiteOr(c.eos_threshold, defaultGenerationParams.eosThreshold),
    framesAfterEos: typeof c['frames_after_eos'] === 'number' ? c['frames_after_eos'] : null,
    maxTokens: finiteOr(c['max_tokens'], defaultGenerationParams.maxTokens),
  }
}
