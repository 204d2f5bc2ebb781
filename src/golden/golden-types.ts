/** The golden dump format this reader understands (see ../shared/oracle/FORMAT.md). */
export const GOLDEN_FORMAT = 'pockettts-golden/1'

import type {NpyTensor, TensorDtype} from '../tensor/npy.js'

export type GoldenDtype = TensorDtype

export interface GoldenTensorEntry {
  readonly file: string
  readonly dtype: GoldenDtype
  readonly shape: readonly number[]
}

/** One chunk of a synthesis case, as upstream generated it. */
export interface GoldenChunk {
  readonly text: string
  readonly n_tokens: number
  readonly max_gen_len: number
  readonly frames_after_eos: number
  /** First AR step whose EOS logit exceeded the threshold (null: never). */
  readonly eos_step: number | null
  /** FlowLM calls after the text prefill. */
  readonly steps: number
  /** Latents decoded to audio. */
  readonly frames: number
}

/** One recorded call of a graph (an export's embedded golden): graph input/output name -> tensor name of the golden. */
export interface GoldenCall {
  readonly name: string
  readonly inputs: Readonly<Record<string, string>>
  readonly outputs: Readonly<Record<string, string>>
}

export interface GoldenManifest {
  readonly format: typeof GOLDEN_FORMAT
  /** Absent for synthesis cases; "voice" for a voice export case. */
  readonly kind?: string
  readonly source: Readonly<Record<string, unknown>>
  /** Synthesis settings (text, seed, voice, temperature, lsd_decode_steps, noise_clamp, eos_threshold). */
  readonly case?: {
    readonly text: string
    readonly seed?: number
    readonly voice?: string
    readonly temperature?: number
    readonly lsd_decode_steps?: number
    /** 4.x's name of lsd_decode_steps. */
    readonly sampler_decode_steps?: number
    readonly noise_clamp?: number | null
    readonly eos_threshold?: number
  } & Readonly<Record<string, unknown>>
  readonly chunks?: readonly GoldenChunk[]
  /** Per graph, the recorded calls that `model verify` replays (an export's embedded golden; docs/graph-contract.md). */
  readonly calls?: Readonly<Record<string, readonly GoldenCall[]>>
  readonly tensors: Readonly<Record<string, GoldenTensorEntry>>
  readonly [key: string]: unknown
}

export interface GoldenTensor extends NpyTensor {
  readonly name: string
}
