import {defaultGenerationParams, type GenerationParams} from '../engine/generation-params.js'
import type {GoldenManifest} from '../golden/index.js'

/** The generation parameters a synthesis golden was recorded with (upstream's defaults where it is silent). */
export function caseParams(manifest: GoldenManifest): GenerationParams {
  const c = manifest.case ?? {text: ''}
  const num = (value: unknown, fallback: number): number => (typeof value === 'number' && Number.isFinite(value) ? value : fallback)
  return {
    temperature: num(c.temperature, defaultGenerationParams.temperature),
    lsdDecodeSteps: num(c.lsd_decode_steps, defaultGenerationParams.lsdDecodeSteps),
    noiseClamp: typeof c.noise_clamp === 'number' ? c.noise_clamp : null,
    eosThreshold: num(c.eos_threshold, defaultGenerationParams.eosThreshold),
    framesAfterEos: typeof c['frames_after_eos'] === 'number' ? c['frames_after_eos'] : null,
    maxTokens: num(c['max_tokens'], defaultGenerationParams.maxTokens),
  }
}
