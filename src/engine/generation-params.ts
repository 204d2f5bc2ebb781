import {readManifest} from '../model/read-manifest.js'
import {releaseFacts, type ReleaseFacts} from '../model/release-facts.js'

/** Sampling and stopping parameters of one synthesis, with upstream's defaults. */
export interface GenerationParams {
  /** Noise variance; 0 gives zero noise. @default 0.7 (4.x exports: their config's default_temperature, see modelGenerationDefaults) */
  readonly temperature: number
  /** K, flow-head evaluations per latent. @default 1 */
  readonly lsdDecodeSteps: number
  /** Absolute bound of the (truncated normal) noise; null = plain normal noise. @default null */
  readonly noiseClamp: number | null
  /** EOS fires when the raw logit exceeds this. @default -4 (4.x exports: their config's default_eos_threshold) */
  readonly eosThreshold: number
  /** Frames generated after EOS; null = per chunk (5 for <= 4 words, else 3) or the model's recommendation. @default null */
  readonly framesAfterEos: number | null
  /** Tokens per text chunk. @default 50 */
  readonly maxTokens: number
  /**
   * Benchmarks: generate exactly this many frames per chunk and ignore EOS (random-weight models fire it at
   * random steps). null/undefined = upstream's stopping rule. @default null
   */
  readonly fixedFrames?: number | null
}

export const defaultGenerationParams: GenerationParams = {
  temperature: 0.7,
  lsdDecodeSteps: 1,
  noiseClamp: null,
  eosThreshold: -4,
  framesAfterEos: null,
  maxTokens: 50,
}

/**
 * Upstream's defaults for one export: its config's `default_temperature` and `default_eos_threshold` (4.x; 2.1.0
 * exports get 2.1.0's 0.7 and -4), and its sampler's decode steps. Flags and request fields override them.
 */
export function modelGenerationDefaults(release: ReleaseFacts): GenerationParams {
  return {
    ...defaultGenerationParams,
    temperature: release.defaultTemperature,
    eosThreshold: release.defaultEosThreshold,
    lsdDecodeSteps: release.sampler.decodeSteps,
  }
}

/** modelGenerationDefaults of the export in `dir` (read from its manifest). */
export async function exportGenerationDefaults(dir: string): Promise<GenerationParams> {
  const {manifest} = await readManifest({dir})
  return modelGenerationDefaults(releaseFacts(manifest))
}
