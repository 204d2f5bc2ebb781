/**
 * The model architecture part of upstream's per-language configs (pocket_tts 2.1.0 `config/<language>.yaml`):
 * everything except the file paths, which `model download` fills in with the local files it wrote.
 * `test/hub/catalogue.test.ts` compares these objects with the YAML files of the installed upstream package.
 */

export interface UpstreamFlowLmArchitecture {
  readonly insert_bos_before_voice: boolean
  readonly dtype: string
  readonly flow: {readonly depth: number; readonly dim: number}
  readonly transformer: {
    readonly d_model: number
    readonly hidden_scale: number
    readonly max_period: number
    readonly num_heads: number
    readonly num_layers: number
  }
  readonly lookup_table: {readonly dim: number; readonly n_bins: number; readonly tokenizer: string}
}

export interface UpstreamMimiArchitecture {
  readonly dtype: string
  readonly sample_rate: number
  readonly inner_dim: number
  readonly outer_dim: number
  readonly channels: number
  readonly frame_rate: number
  readonly seanet: {
    readonly dimension: number
    readonly channels: number
    readonly n_filters: number
    readonly n_residual_layers: number
    readonly ratios: readonly number[]
    readonly kernel_size: number
    readonly residual_kernel_size: number
    readonly last_kernel_size: number
    readonly dilation_base: number
    readonly pad_mode: string
    readonly compress: number
  }
  readonly transformer: {
    readonly d_model: number
    readonly num_heads: number
    readonly num_layers: number
    readonly layer_scale: number
    readonly context: number
    readonly dim_feedforward: number
    readonly input_dimension: number
    readonly output_dimensions: readonly number[]
  }
  readonly quantizer: {readonly dimension: number; readonly output_dimension: number}
}

/** An upstream config without its paths (top-level options are omitted when upstream's default applies). */
export interface UpstreamArchitecture {
  readonly pad_with_spaces_for_short_inputs?: boolean
  readonly remove_semicolons?: boolean
  readonly model_recommended_frames_after_eos?: number
  readonly flow_lm: UpstreamFlowLmArchitecture
  readonly mimi: UpstreamMimiArchitecture
}

/** The current generation (upstream `english.yaml`, signature a0ac5076): 6 layers, 32-d voice latents. */
const base: UpstreamArchitecture = {
  flow_lm: {
    insert_bos_before_voice: true,
    dtype: 'float32',
    flow: {depth: 6, dim: 512},
    transformer: {d_model: 1024, hidden_scale: 4, max_period: 10000, num_heads: 16, num_layers: 6},
    lookup_table: {dim: 1024, n_bins: 4000, tokenizer: 'sentencepiece'},
  },
  mimi: {
    dtype: 'float32',
    sample_rate: 24000,
    inner_dim: 32,
    outer_dim: 512,
    channels: 1,
    frame_rate: 12.5,
    seanet: {
      dimension: 512,
      channels: 1,
      n_filters: 64,
      n_residual_layers: 1,
      ratios: [6, 5, 4],
      kernel_size: 7,
      residual_kernel_size: 3,
      last_kernel_size: 3,
      dilation_base: 2,
      pad_mode: 'constant',
      compress: 2,
    },
    transformer: {
      d_model: 512,
      num_heads: 8,
      num_layers: 2,
      layer_scale: 0.01,
      context: 250,
      dim_feedforward: 2048,
      input_dimension: 512,
      output_dimensions: [512],
    },
    quantizer: {dimension: 32, output_dimension: 512},
  },
}

function withLayers(arch: UpstreamArchitecture, numLayers: number): UpstreamArchitecture {
  return {...arch, flow_lm: {...arch.flow_lm, transformer: {...arch.flow_lm.transformer, num_layers: numLayers}}}
}

/** The 24-layer "preview" models. */
const base24 = withLayers(base, 24)

export const architectures = {
  english: base,
  'english_2026-04': base,
  /** The v1 generation (signature b6369a24): 512-d voice latents, no BOS before the voice. */
  'english_2026-01': {
    ...base,
    pad_with_spaces_for_short_inputs: true,
    flow_lm: {...base.flow_lm, insert_bos_before_voice: false},
    mimi: {...base.mimi, inner_dim: 512},
  },
  german: {...base, remove_semicolons: true},
  german_24l: {...base24, remove_semicolons: true},
  french_24l: {...base24, remove_semicolons: true, model_recommended_frames_after_eos: 8},
  italian: base,
  italian_24l: base24,
  portuguese: base,
  portuguese_24l: base24,
  spanish: base,
  spanish_24l: base24,
} as const satisfies Record<string, UpstreamArchitecture>
