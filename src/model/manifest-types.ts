/** The `manifest.json` of an exported model folder (`pockettts-onnx/1`), as written by scripts/pockettts_tools/export_onnx.py. */

export const MANIFEST_FORMAT = 'pockettts-onnx/1'
export const MANIFEST_FILE = 'manifest.json'

export type TensorDtype = 'float32' | 'int64' | 'bool'
/** A fixed size, or the name of a symbolic dimension (e.g. `n_tokens`, `past_len`). */
export type Dim = number | string

export interface TensorContract {
  readonly name: string
  readonly dtype: TensorDtype
  readonly shape: readonly Dim[]
  readonly description: string
  /** An output a runtime may leave unfetched (diagnostics). */
  readonly optional?: boolean
}

/**
 * How a state output feeds the next call of the same graph.
 * - `replace`: the output becomes the next call's input (same shape).
 * - `append`: the output rows are written into a buffer at `offset` along `axis`; the next input is the buffer's valid prefix.
 */
export interface StateLink {
  readonly input: string
  readonly output: string
  readonly kind: 'replace' | 'append'
  /** Initial value before the first call: all zeros, all ones, or zero rows (`empty`). */
  readonly init: 'zeros' | 'ones' | 'empty'
  readonly axis?: number
  /** `append` from a stacked output: this input's rows are `output[:, ...index]` (e.g. new_kv[:, layer, k|v]). */
  readonly index?: readonly number[]
  /** Upstream module path whose streaming state this is. */
  readonly module?: string
  readonly note?: string
}

/** What a manifest records per graph output: |actual - expected| <= atol + rtol * |expected| (see src/tensor). */
export interface RecordedTolerance {
  readonly atol: number
  readonly rtol: number
}

export interface GraphCheck {
  /** Per output name, plus `default`. */
  readonly tolerance: Readonly<Record<string, RecordedTolerance>>
  /** What the export-time check against upstream found (Python onnxruntime vs upstream torch). */
  readonly export: {
    readonly calls: number
    readonly passed: boolean
    readonly max_abs: Readonly<Record<string, number>>
    /** The outputs beyond their tolerance (empty when passed). */
    readonly failed: readonly string[]
  }
}

export interface GraphEntry {
  readonly file: string
  readonly sha256: string
  readonly size: number
  readonly description: string
  readonly inputs: readonly TensorContract[]
  readonly outputs: readonly TensorContract[]
  readonly state: readonly StateLink[]
  /**
   * Sizes a runtime preallocates for this graph: `past_kv_rows` (flow_lm_main), `attention_window` (mimi_decoder); and
   * limits: `max_positions` (flow_lm_main with fused attention: its RoPE table's length, the positions it can be called at),
   * `min_past_rows` (flow_lm_main: the past rows it must be fed; an empty past as that many zero rows, which its mask drops).
   */
  readonly capacities: Readonly<Record<string, number>>
  /**
   * Exact rewrites of the traced graph: export-time substitutions (`fused_attention`: onnxruntime's fused RoPE and
   * attention operators in flow_lm_main) and post-export rewrites (e.g. `convtranspose_polyphase`); absent in older exports.
   */
  readonly rewrites?: readonly string[]
  readonly check: GraphCheck
  /** Present on a graph composed from other exported graphs (flow_lm_main_flow). */
  readonly composition?: GraphComposition
}

/** How a graph was composed from other exported graphs (onnx.compose on the final files, after every rewrite). */
export interface GraphComposition {
  /** The graphs composed, in call order. */
  readonly of: readonly string[]
  /** Node counts of the parts and of the result (before onnxruntime's own optimizations). */
  readonly nodes: Readonly<Record<string, number>>
  /** Largest |composed − the parts run in sequence| per output over the export's checked calls. */
  readonly pair_max_abs: Readonly<Record<string, number>>
}

export interface FileEntry {
  readonly path: string
  readonly sha256: string
  readonly size: number
}

export interface VoiceEntry extends FileEntry {
  readonly kind: 'kv_state' | 'audio_prompt' | 'audio'
  readonly positions?: number
  readonly layout?: string
  /** How a runtime uses the file (audio prompts). */
  readonly note?: string
}

export type TokenizerKind = 'sentencepiece' | 'tokenizers'

export interface SamplerFacts {
  /** lsd: flow_lm_flow(hidden, s, t, x) -> flow_dir, looped; flow_matching: flow_lm_flow(hidden, t, x) -> flow_dir, looped; drifting | pointwise: flow_lm_flow(hidden, noise) -> latent, one call. */
  readonly type: 'lsd' | 'drifting' | 'pointwise' | 'flow_matching'
  /** Upstream's default decode steps (LSD loop length; 1 for the one-step heads). */
  readonly decode_steps: number
}

/** Dimensions and generation flags, read off upstream's modules at export. */
export interface ModelFacts {
  readonly generation: 'v1' | 'v2'
  readonly insert_bos_before_voice: boolean
  readonly pad_with_spaces_for_short_inputs: boolean
  readonly remove_semicolons: boolean
  readonly model_recommended_frames_after_eos: number | null
  readonly sample_rate: number
  readonly frame_rate: number
  readonly frame_size: number
  readonly latent_dim: number
  readonly d_model: number
  readonly num_layers: number
  readonly num_heads: number
  readonly head_dim: number
  readonly vocab_size: number
  readonly flow_dim: number
  readonly flow_depth: number
  readonly voice_latent_dim: number
  readonly mimi_dim: number
  readonly mimi_input_dim: number
  readonly mimi_num_layers: number
  readonly mimi_num_heads: number
  readonly mimi_head_dim: number
  readonly mimi_context: number
  readonly mimi_steps_per_latent: number
  /** The upstream pocket-tts release traced ("2.1.0", "4.0.1"); the same as exporter.upstream. */
  readonly upstream: string
  /** FlowLM key/value heads: the cache and flow_lm_main's past_k/past_v/new_kv hold these (== num_heads without grouped-query attention). */
  readonly num_kv_heads: number
  /** Width of flow_lm_main's `hidden` (the sampler head's condition): the config's z_dim when it projects, else d_model. */
  readonly hidden_dim: number
  /** The sampler head (flow_lm_flow's inputs follow the type, docs/graph-contract.md) and upstream's default decode steps. */
  readonly sampler: SamplerFacts
  /** The config's default temperature (2.1.0: its code's 0.7). */
  readonly default_temperature: number
  /** The config's default EOS threshold (2.1.0: -4). */
  readonly default_eos_threshold: number
  /** AR steps whose EOS upstream ignores (4.x: 6; 2.1.0: 0). */
  readonly eos_min_step: number
  /** Linear fade-in of each chunk's first audio, linspace(0, 1, sample_rate / 200) samples (4.x: 5; 2.1.0: 0 = none). */
  readonly fade_in_ms: number
  /** Which text front end: 2.1.0's rules or 4.x's (src/text). */
  readonly text_rules: 'v2.1' | 'v4'
  /** The config's character replacements, applied by the 4.x text front end ({} on 2.1.0). */
  readonly replace_characters: Readonly<Record<string, string>>
  readonly capitalize_first_letter: boolean
  readonly append_terminal_punctuation: boolean
  /** The tokenizer kind: a SentencePiece `tokenizer.model` or an HF tokenizers `tokenizer.json` (the manifest's `tokenizer` entry names the file). */
  readonly tokenizer: TokenizerKind
  /** Voice prompts pass through upstream's end_on_pause before mimi_encoder (4.x). */
  readonly end_on_pause_voice: boolean
  /** Upstream's config, paths relative to the export folder. */
  readonly config: Readonly<Record<string, unknown>>
}

export interface Capacities {
  readonly max_voice_seconds: number
  readonly max_voice_frames: number
  readonly voice_bos_positions: number
  readonly max_prompt_positions: number
  readonly max_chunk_tokens: number
  readonly max_gen_len: number
  /** Rows of the flow_lm_main KV buffer to preallocate (the longest chunk). */
  readonly flow_kv_positions: number
  readonly mimi_attention_window: number
  readonly derivation: Readonly<Record<string, string>>
}

export interface ExportManifest {
  readonly format: typeof MANIFEST_FORMAT
  readonly generation: 'v1' | 'v2'
  readonly model: ModelFacts
  readonly generation_defaults: Readonly<Record<string, unknown>>
  readonly capacities: Capacities
  /** Graph name -> entry; names: text_conditioner, flow_lm_main, flow_lm_flow, latent_to_mimi, mimi_decoder, mimi_encoder; optional (serving): flow_lm_step_batched, flow_lm_flow_batched; optional (one-step heads): flow_lm_main_flow. */
  readonly graphs: Readonly<Record<string, GraphEntry>>
  readonly tokenizer: FileEntry & {readonly kind: TokenizerKind; readonly vocab_size: number}
  readonly voices: readonly VoiceEntry[]
  /** Every file of the folder except manifest.json. */
  readonly files: readonly FileEntry[]
  /** What the export was made from: files of the source folder (`name`, relative to it), not of this one. */
  readonly source: {
    /** The source folder's name (e.g. `english` for models/english). */
    readonly folder: string
    readonly config: {readonly name: string; readonly sha256: string}
    readonly checkpoint: {readonly name: string; readonly sha256: string; readonly size: number}
    readonly tokenizer: {readonly name: string; readonly sha256: string}
    /** Source files that looked like neither a checkpoint nor a voice, and were not copied. */
    readonly skipped_files: readonly string[]
  }
  readonly exporter: Readonly<Record<string, string | number>> & {readonly version: string; readonly opset: number}
  /** The golden the export embeds: upstream's reference run plus each graph's call set (docs/graph-contract.md). */
  readonly golden: ExportGolden
  readonly checks: {
    readonly passed: boolean
    readonly graphs: Readonly<Record<string, unknown>>
    readonly chain: Readonly<Record<string, unknown>>
  }
  /** Present when exported with `--int8`: what was quantised and what it costs in accuracy. */
  readonly quantization?: Quantization
}

/** The export's embedded golden (`pockettts-golden/1`, with a `calls` table). */
export interface ExportGolden {
  /** The golden case folder, relative to the model folder (`golden/reference`). */
  readonly path: string
  /** Whether `model verify` replays the golden's synthesis on the engine (the call sets are always checked). */
  readonly replayable: boolean
  /** Why not, when not: `--max-steps` capped the reference run, or `--int8` graphs are not held to fp32 parity. */
  readonly reason?: string
}

/**
 * `model export --int8`: int8 weights for the FlowLM transformer's and the flow head's matmuls and (at an audio SNR
 * >= 40 dB) the Mimi decoder's matmuls and convolutions, activations quantised per call
 * (scripts/pockettts_tools/quantize_int8.py).
 */
export interface Quantization {
  readonly kind: 'int8-dynamic'
  readonly tool: string
  readonly weights: string
  readonly activations: string
  readonly selection: string
  /** Per quantised graph: nodes quantised, file sizes before/after, teacher-forced max-abs error against upstream. */
  readonly graphs: Readonly<
    Record<
      string,
      {
        readonly nodes: number
        readonly fp32_bytes: number
        readonly int8_bytes: number
        /** The int8 operator form: onnxruntime's MatMulNBits (8-bit, blocks) or quantize_dynamic's MatMulInteger. */
        readonly form?: string
        /** MatMulNBits only: the weights' block along the reduction axis. */
        readonly block?: number
        /** mimi_decoder only: what of it is int8 (one of the tiers tried, see parity.mimi_decoder). */
        readonly selection?: string
        readonly max_abs_vs_upstream: Readonly<Record<string, number>>
      }
    >
  >
  /** How the quantised graphs' check tolerances were set. */
  readonly tolerance_rule: string
  /** Free-running int8 chain against the fp32 chain of the same export (same noise, EOS ignored), and upstream's run replayed. */
  readonly parity: {
    readonly reference: string
    readonly steps: number
    /**
     * The Mimi decoder alone: the fp32 chain's latents decoded by its int8 and its fp32 form; int8 is kept only when
     * every frame's SNR is at least the threshold.
     */
    readonly mimi_decoder?: {
      readonly threshold_db: number
      readonly frames: number
      /** Each form tried, most int8 first, with its lowest frame SNR; the first at the threshold is kept. */
      readonly tried?: readonly {readonly selection: string; readonly min_audio_snr_db: number | null}[]
      readonly selection?: string
      readonly audio_snr_db?: readonly (number | null)[]
      readonly min_audio_snr_db?: number | null
      readonly int8?: boolean
    }
    /** SNR of each of the first decoded frames, dB (null: identical). */
    readonly frame_snr_db: readonly (number | null)[]
    readonly first_frame_snr_db: number | null
    readonly min_snr_db: number | null
    readonly latent_snr_db: readonly (number | null)[]
    readonly eos_threshold: number
    readonly eos_logit_max_abs: number | null
    /** Fraction of steps whose EOS decision (logit > threshold) is the same. */
    readonly eos_decision_agreement: number | null
    readonly first_eos_step: {readonly int8: number | null; readonly fp32: number | null}
    readonly upstream_run: {
      readonly eos_step: {readonly int8: number | null; readonly upstream: number | null}
      readonly frames: {readonly int8: number; readonly upstream: number}
    }
  }
}

/** The graphs every export has, in pipeline order. */
export const GRAPH_NAMES = ['text_conditioner', 'flow_lm_main', 'flow_lm_flow', 'latent_to_mimi', 'mimi_decoder', 'mimi_encoder'] as const
export type GraphName = (typeof GRAPH_NAMES)[number]
