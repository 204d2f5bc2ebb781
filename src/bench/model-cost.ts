import type {ExportManifest} from '../model/manifest-types.js'

/** Arithmetic and weight traffic of one stage: FLOPs (2 per multiply-add) and weight bytes read. */
export interface StageCost {
  readonly flops: number
  readonly weightBytes: number
}

/** What one frame costs, stage by stage, from the manifest's dimensions (and the graph files' sizes). */
export interface ModelCost {
  /** One FlowLM AR step at the mean attended position of the run. */
  readonly flowLmStep: StageCost
  /** The flow head: K evaluations per frame (lsd_decode_steps). */
  readonly flowHead: StageCost
  /** latent_to_mimi + one mimi_decoder step; null when the manifest's Mimi config lacks a field. */
  readonly mimi: StageCost | null
  /** One text prefill of `tokens` positions (per chunk, not per frame). */
  readonly textPrefill: StageCost
  /** FlowLM parameters in the transformer's matrix multiplies (the weights every step streams). */
  readonly flowLmMatmulParams: number
  /** Sum of the per-frame stages (flowLmStep + flowHead + mimi). */
  readonly perFrame: StageCost
  readonly assumptions: readonly string[]
}

export interface ModelCostParams {
  readonly manifest: Pick<ExportManifest, 'model' | 'graphs'>
  /** Mean attended position of the AR steps (voice + text + half the frames). */
  readonly meanPosition: number
  /** Tokens of one text chunk (for the prefill cost). */
  readonly tokens: number
  /** LSD decode steps per frame. @default 1 */
  readonly lsdDecodeSteps?: number
}

/** The flow head's time embedding width (upstream `TimestepEmbedder` frequency_embedding_size). */
const TIME_FREQUENCIES = 256

/** Time conditions of the sampler head (upstream `SimpleMLPAdaLN` num_time_conds): LSD s and t, flow matching t, none for one-step heads. */
const TIME_CONDITIONS: Readonly<Record<string, number>> = {lsd: 2, flow_matching: 1, drifting: 0, pointwise: 0}

/** Sampler heads evaluated once per latent whatever the decode steps. */
const ONE_STEP_HEADS: ReadonlySet<string> = new Set(['drifting', 'pointwise'])

/** 2.1.0's FlowLM FFN width factor (config hidden_scale) when the config does not say. */
const DEFAULT_HIDDEN_SCALE = 4

/** Widths of one FlowLM transformer layer: queries and attention output, keys and values (grouped-query), FFN. */
export interface FlowLmWidths {
  /** attn_dim (num_heads · head_dim; d_model unless the config narrows or widens it). */
  readonly attention: number
  /** num_kv_heads · head_dim: K and V each. */
  readonly keyValue: number
  /** dim_feedforward, else d_model · hidden_scale. */
  readonly feedForward: number
}

/** The FlowLM layer widths from the facts and upstream's config (4.x attn_dim, num_kv_heads, dim_feedforward, hidden_scale). */
export function flowLmWidths(m: Facts): FlowLmWidths {
  const flowLm = (m.config['flow_lm'] ?? {}) as Record<string, unknown>
  const transformer = (flowLm['transformer'] ?? {}) as Record<string, unknown>
  const feedForward =
    finiteOrNull(transformer['dim_feedforward']) ??
    Math.round(m.d_model * (finiteOrNull(transformer['hidden_scale']) ?? DEFAULT_HIDDEN_SCALE))
  return {attention: m.num_heads * m.head_dim, keyValue: m.num_kv_heads * m.head_dim, feedForward}
}

/**
 * FLOPs per frame from the architecture (facts §3): a FlowLM layer is the fused Q/K/V projection (D·(A + 2·KV)),
 * the output projection (A·D) and the FFN (2·D·F) per position, plus 2·A multiply-adds per attended position (Q·K
 * and the weighted sum of V); then the z projection and the EOS head. The sampler head is an AdaLN MLP on the
 * `hidden` width with its time embedders (two for LSD, one for flow matching, none for the one-step heads), run
 * K times per frame (once for a one-step head); Mimi is the upsampler, the decoder transformer over its steps
 * attending to its context, and the SEANet decoder's convolutions (4.x: the decoder's own smaller config).
 * Weight bytes per frame are the graph files' sizes (weights dominate them; an int8 export is smaller), read once
 * per call.
 */
export function modelCost(params: ModelCostParams): ModelCost {
  const m = params.manifest.model
  const sampler = m.sampler.type
  const K = ONE_STEP_HEADS.has(sampler) ? 1 : (params.lsdDecodeSteps ?? 1)
  const D = m.d_model
  const L = m.num_layers
  const H = m.hidden_dim
  const latent = m.latent_dim
  const widths = flowLmWidths(m)
  const A = widths.attention
  const flowLmMatmulParams = L * (D * (A + 2 * widths.keyValue) + A * D + 2 * D * widths.feedForward)
  // input_linear, the z projection when hidden is narrower than the model, out_eos
  const positionMacs = flowLmMatmulParams + latent * D + (H === D ? 0 : D * H) + H
  const stepMacs = positionMacs + L * 2 * params.meanPosition * A
  const prefillMacs = params.tokens * flowLmMatmulParams + L * 2 * params.tokens * (params.meanPosition + params.tokens / 2) * A
  const size = (graph: string): number => params.manifest.graphs[graph]?.size ?? 0
  const F = m.flow_dim
  const times = TIME_CONDITIONS[sampler] ?? 2
  const headMacs = H * F + latent * F + times * (TIME_FREQUENCIES * F + F * F) + m.flow_depth * 5 * F * F + 2 * F * F + F * latent
  const mimiMacs = mimiDecoderMacs(m)
  const flowLmStep = {flops: 2 * stepMacs, weightBytes: size('flow_lm_main')}
  const flowHead = {flops: 2 * K * headMacs, weightBytes: K * size('flow_lm_flow')}
  const mimi = mimiMacs === null ? null : {flops: 2 * mimiMacs, weightBytes: size('latent_to_mimi') + size('mimi_decoder')}
  const mimiLayers = mimiTransformer(m)
  return {
    flowLmStep,
    flowHead,
    mimi,
    textPrefill: {flops: 2 * prefillMacs, weightBytes: size('flow_lm_main')},
    flowLmMatmulParams,
    perFrame: {
      flops: flowLmStep.flops + flowHead.flops + (mimi?.flops ?? 0),
      weightBytes: flowLmStep.weightBytes + flowHead.weightBytes + (mimi?.weightBytes ?? 0),
    },
    assumptions: [
      `FlowLM step at mean position ${params.meanPosition.toFixed(0)}: ${L} layers, D=${D}, attention ${A} wide ` +
        `(K/V ${widths.keyValue}), FFN ${widths.feedForward}, + 2·${A} per attended position`,
      `${sampler} head ×${K} per frame: AdaLN MLP width ${F}, depth ${m.flow_depth}, ${times} time condition(s)`,
      mimiMacs === null
        ? 'Mimi: config fields missing, not counted'
        : `Mimi: ${m.mimi_steps_per_latent} steps of a ${mimiLayers.layers}-layer transformer (width ${mimiLayers.width}, context ${mimiLayers.context}) + SEANet decoder`,
      'weight bytes = graph file sizes, read once per call',
    ],
  }
}

type Facts = ModelCostParams['manifest']['model']

function finiteOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null
}

/** The Mimi decoder's transformer and SEANet configs: 4.x's decoder_* ones when set, else the shared ones (upstream's fallback). */
function mimiDecoderConfigs(m: Facts): {readonly seanet: Record<string, unknown>; readonly transformer: Record<string, unknown>} {
  const mimi = (m.config['mimi'] ?? {}) as Record<string, unknown>
  const pick = (own: string, shared: string): Record<string, unknown> => (mimi[own] ?? mimi[shared] ?? {}) as Record<string, unknown>
  return {seanet: pick('decoder_seanet', 'seanet'), transformer: pick('decoder_transformer', 'transformer')}
}

/** Width, layers and context of the Mimi decoder transformer (its config, else the facts). */
function mimiTransformer(m: Facts): {readonly width: number; readonly layers: number; readonly context: number} {
  const {transformer} = mimiDecoderConfigs(m)
  return {
    width: finiteOrNull(transformer['d_model']) ?? m.mimi_dim,
    layers: finiteOrNull(transformer['num_layers']) ?? m.mimi_num_layers,
    context: finiteOrNull(transformer['context']) ?? m.mimi_context,
  }
}

/** Multiply-adds of latent_to_mimi + one streaming mimi_decoder call; null when a config field is missing. */
export function mimiDecoderMacs(m: Facts): number | null {
  const {seanet, transformer} = mimiDecoderConfigs(m)
  const nFilters = finiteOrNull(seanet['n_filters'])
  const kernel = finiteOrNull(seanet['kernel_size'])
  const residualKernel = finiteOrNull(seanet['residual_kernel_size'])
  const lastKernel = finiteOrNull(seanet['last_kernel_size'])
  const compress = finiteOrNull(seanet['compress'])
  const residualLayers = finiteOrNull(seanet['n_residual_layers'])
  const channels = finiteOrNull(seanet['channels']) ?? 1
  const ratios = Array.isArray(seanet['ratios']) ? (seanet['ratios'] as unknown[]).map(finiteOrNull) : []
  const ff = finiteOrNull(transformer['dim_feedforward'])
  if (
    [nFilters, kernel, residualKernel, lastKernel, compress, residualLayers, ff].some((v) => v === null) ||
    ratios.length === 0 ||
    ratios.some((r) => r === null)
  )
    return null
  const C = m.mimi_input_dim
  const {width: d, layers, context} = mimiTransformer(m)
  const seanetInput = finiteOrNull(seanet['dimension']) ?? d
  const S = m.mimi_steps_per_latent
  let macs = m.latent_dim * C // latent_to_mimi (quantizer projection)
  macs += C * 2 * S // depthwise ConvTranspose upsampler, kernel 2·stride, one input step
  // decoder transformer: projections + FFN per position, attention over the context window
  macs += layers * S * (4 * d * d + 2 * d * (ff as number) + 2 * context * d)
  // SEANet decoder (ratios in the decoder's order), channels halve after each upsampling stage
  let dim = (nFilters as number) * 2 ** ratios.length
  let steps = S
  macs += steps * seanetInput * dim * (kernel as number)
  for (const ratio of ratios as number[]) {
    macs += steps * dim * (dim / 2) * 2 * ratio // ConvTranspose1d, kernel 2·ratio
    dim /= 2
    steps *= ratio
    const hidden = dim / (compress as number)
    macs += (residualLayers as number) * steps * (dim * hidden * (residualKernel as number) + hidden * dim)
  }
  macs += steps * dim * channels * (lastKernel as number)
  return macs
}
