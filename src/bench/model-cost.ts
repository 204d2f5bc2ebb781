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

/**
 * FLOPs per frame from the architecture (facts §3): FlowLM layers are attention in/out projections (4·D²) and
 * a 4× FFN (8·D²) per position plus 4·D multiply-adds per attended position; the flow head is an AdaLN MLP; Mimi
 * is the upsampler, the decoder transformer over 16 steps attending to its 250-step context, and the SEANet
 * decoder's convolutions. Weight bytes per frame are the graph files' sizes (weights dominate them; an int8
 * export is smaller), read once per call.
 */
export function modelCost(params: ModelCostParams): ModelCost {
  const m = params.manifest.model
  const K = params.lsdDecodeSteps ?? 1
  const D = m.d_model
  const L = m.num_layers
  const latent = m.latent_dim
  const flowLmMatmulParams = L * 12 * D * D
  const positionMacs = flowLmMatmulParams + latent * D + D // + input_linear + out_eos
  const stepMacs = positionMacs + L * 4 * params.meanPosition * D
  const prefillMacs = params.tokens * flowLmMatmulParams + L * 2 * params.tokens * (params.meanPosition + params.tokens / 2) * D
  const size = (graph: string): number => params.manifest.graphs[graph]?.size ?? 0
  const F = m.flow_dim
  const headMacs = D * F + latent * F + 2 * (TIME_FREQUENCIES * F + F * F) + m.flow_depth * 5 * F * F + 2 * F * F + F * latent
  const mimiMacs = mimiDecoderMacs(m)
  const flowLmStep = {flops: 2 * stepMacs, weightBytes: size('flow_lm_main')}
  const flowHead = {flops: 2 * K * headMacs, weightBytes: K * size('flow_lm_flow')}
  const mimi = mimiMacs === null ? null : {flops: 2 * mimiMacs, weightBytes: size('latent_to_mimi') + size('mimi_decoder')}
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
      `FlowLM step at mean position ${params.meanPosition.toFixed(0)}: ${L} layers × 12·D² (D=${D}) + attention 4·D per position`,
      `flow head ×${K} per frame: AdaLN MLP width ${F}, depth ${m.flow_depth}`,
      mimiMacs === null
        ? 'Mimi: config fields missing, not counted'
        : `Mimi: ${m.mimi_steps_per_latent} steps of a ${m.mimi_num_layers}-layer transformer (context ${m.mimi_context}) + SEANet decoder`,
      'weight bytes = graph file sizes, read once per call',
    ],
  }
}

type Facts = ModelCostParams['manifest']['model']

function finiteOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null
}

/** Multiply-adds of latent_to_mimi + one streaming mimi_decoder call; null when a config field is missing. */
export function mimiDecoderMacs(m: Facts): number | null {
  const mimi = (m.config['mimi'] ?? {}) as Record<string, unknown>
  const seanet = (mimi['seanet'] ?? {}) as Record<string, unknown>
  const transformer = (mimi['transformer'] ?? {}) as Record<string, unknown>
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
  const d = m.mimi_dim
  const S = m.mimi_steps_per_latent
  let macs = m.latent_dim * C // latent_to_mimi (quantizer projection)
  macs += C * 2 * S // depthwise ConvTranspose upsampler, kernel 2·stride, one input step
  // decoder transformer: projections + FFN per position, attention over the context window
  macs += m.mimi_num_layers * S * (4 * d * d + 2 * d * (ff as number) + 2 * m.mimi_context * d)
  // SEANet decoder (ratios in the decoder's order), channels halve after each upsampling stage
  let dim = (nFilters as number) * 2 ** ratios.length
  let steps = S
  macs += steps * d * dim * (kernel as number)
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
