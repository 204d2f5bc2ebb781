/** The report's stages, in data-flow order (the order of the report rows and of "first divergence"). */
export const PARITY_STAGES = ['text', 'voice', 'text-prefill', 'flowlm-layers', 'eos', 'flow-head', 'latent', 'mimi', 'audio'] as const
export type ParityStage = (typeof PARITY_STAGES)[number]

/** How each stage is named in reports. */
export const STAGE_LABELS: Readonly<Record<ParityStage, string>> = {
  text: 'text',
  voice: 'voice',
  'text-prefill': 'text prefill',
  'flowlm-layers': 'FlowLM layers',
  eos: 'EOS',
  'flow-head': 'flow head',
  latent: 'latent',
  mimi: 'Mimi',
  audio: 'audio',
}

/** `--component` values: which parts of the pipeline to check. */
export const PARITY_COMPONENTS = ['text', 'voice', 'flowlm', 'flow', 'mimi'] as const
export type ParityComponent = (typeof PARITY_COMPONENTS)[number]

/** The stages each component covers. */
export const COMPONENT_STAGES: Readonly<Record<ParityComponent, readonly ParityStage[]>> = {
  text: ['text'],
  voice: ['voice'],
  flowlm: ['text-prefill', 'flowlm-layers', 'eos'],
  flow: ['flow-head', 'latent'],
  mimi: ['mimi', 'audio'],
}

export function stageIndex(stage: ParityStage): number {
  return PARITY_STAGES.indexOf(stage)
}

/** The stages selected by a list of components. */
export function stagesOf(components: readonly ParityComponent[]): ReadonlySet<ParityStage> {
  return new Set(components.flatMap((c) => COMPONENT_STAGES[c]))
}
