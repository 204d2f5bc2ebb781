/**
 * One tolerance: a float check passes when every element satisfies |actual − golden| ≤ atol + rtol·|golden|
 * (skipped when `atol` is null), the SNR is at least `minSnrDb` and the cosine similarity at least `minCosine`
 * (each when set), and NaN/±Inf sit at the same places. `exact` checks (integers, strings, counts) must be equal.
 */
export interface Tolerance {
  readonly exact?: boolean
  readonly atol: number | null
  readonly rtol: number
  readonly minSnrDb: number | null
  readonly minCosine: number | null
}

export interface ToleranceEntry extends Tolerance {
  /** Why this value (shown in the table of docs/parity.md). */
  readonly why: string
}

const EXACT: Tolerance = {exact: true, atol: 0, rtol: 0, minSnrDb: null, minCosine: null}
const ZERO: Tolerance = {atol: 0, rtol: 0, minSnrDb: null, minCosine: null}
const GRAPH: Tolerance = {atol: 1e-4, rtol: 1e-3, minSnrDb: null, minCosine: null}
const KV: Tolerance = {atol: 1e-3, rtol: 1e-3, minSnrDb: null, minCosine: null}
const AUDIO: Tolerance = {atol: 2e-4, rtol: 0, minSnrDb: null, minCosine: null}

/**
 * The default tolerance of every check, keyed by check name (= the golden tensor it compares). docs/parity.md
 * shows the same table. Based on the fact sheet's tolerance plan (§7): token ids and counts exact, one fp32
 * graph atol 1e-4 / rtol 1e-3, KV 1e-3, audio 2e-4. The largest ORT-vs-torch difference on the oracle's goldens
 * is 3.2e-6 (voice KV; FlowLM tensors ≤ 2e-6, audio ≤ 2e-7), so these leave one to three orders of magnitude
 * of head-room without hiding a real fault: a perturbed weight, a wrong RoPE layout or a lost decoder state
 * moves these tensors by 4e-3 or more.
 */
export const DEFAULT_TOLERANCES = {
  'text.chunks': {...EXACT, why: 'chunk count, chunk strings, n_tokens, max_gen_len, frames_after_eos: the text front-end is deterministic'},
  tokens: {...EXACT, why: 'SentencePiece ids must be identical'},
  text_embeddings: {...ZERO, why: 'an embedding lookup copies rows of the table: no arithmetic'},
  'voice.audio': {atol: 1.5e-5, rtol: 0, minSnrDb: null, minCosine: null, why: 'prompt reading and resampling: half an int16 step (1/65536)'},
  'voice.mimi_latent': {...GRAPH, why: 'one fp32 graph (mimi_encoder)'},
  'voice.conditioning': {...GRAPH, why: 'one fp32 graph (mimi_encoder + speaker projection, voice BOS)'},
  'voice.kv': {...KV, why: 'KV after the voice prefill: attention sums over up to 376 positions'},
  'voice.offset': {...EXACT, why: 'positions in the voice state'},
  prefill_kv: {...KV, why: 'KV rows written by the text prefill'},
  layer_out: {...GRAPH, why: 'each FlowLM layer at the new position (fp32 graph)'},
  hidden: {...GRAPH, why: 'out_norm output (fp32 graph)'},
  eos_logit: {...GRAPH, why: 'raw EOS logit (fp32 graph)'},
  eos_step: {...EXACT, why: 'first EOS step, AR steps and frames per chunk: the stopping rule'},
  flow_head: {...GRAPH, why: 'LSD decode from the golden hidden and noise (flow_lm_flow)'},
  latent: {...GRAPH, why: 'LSD decode from this runtime\'s hidden and the golden noise'},
  noise: {...ZERO, why: 'a replayed noise tape is copied, never computed'},
  mimi_input: {...GRAPH, why: 'latent_to_mimi (de-normalise + quantizer projection)'},
  frame_audio: {...AUDIO, why: 'one 1920-sample frame of the Mimi decoder'},
  audio: {...AUDIO, why: 'a chunk\'s audio and the whole audio (before clamping)'},
} as const satisfies Record<string, ToleranceEntry>

export type CheckName = keyof typeof DEFAULT_TOLERANCES
export const CHECK_NAMES = Object.keys(DEFAULT_TOLERANCES) as CheckName[]

export type ToleranceTable = Readonly<Record<CheckName, Tolerance>>

export function isCheckName(name: string): name is CheckName {
  return Object.hasOwn(DEFAULT_TOLERANCES, name)
}
