/** Observers of the generation loop (parity dumps, benchmarks); each is optional and must not mutate. */
export interface GenerationTaps {
  chunkStart?(info: {
    readonly chunk: number
    /** The chunk text that was tokenized (4.x: the chunk prepared again, as upstream records it). */
    readonly text: string
    readonly ids: readonly number[]
    readonly framesAfterEos: number
    readonly maxGenLen: number
    readonly textEmbeddings: Float32Array
  }): void
  prefillNoise?(info: {readonly chunk: number; readonly noise: Float32Array}): void
  /**
   * Wall time of the chunk's text embedding (text_conditioner) and text prefill (flow_lm_main), ms. With
   * `withFirstStep` the prefill call also ran the chunk's first AR step (one pass over the weights for both);
   * that step's `flowLmMs` is then NaN.
   */
  prefill?(info: {
    readonly chunk: number
    readonly tokens: number
    readonly embedMs: number
    readonly prefillMs: number
    readonly withFirstStep: boolean
  }): void
  step?(info: {
    readonly chunk: number
    readonly step: number
    /** The latent fed to this step; null = the latent BOS (step 0). */
    readonly input: Float32Array | null
    readonly hidden: Float32Array
    readonly eosLogit: number
    readonly layerOut?: Float32Array
    readonly noise: Float32Array
    readonly latent: Float32Array
    /** Wall time of the FlowLM call (NaN when it ran inside the prefill call) and of the flow head, ms. */
    readonly flowLmMs: number
    readonly flowHeadMs: number
  }): void
  frame?(info: {
    readonly chunk: number
    readonly frame: number
    readonly mimiInput: Float32Array
    readonly audio: Float32Array
    readonly mimiMs: number
  }): void
  chunkEnd?(info: {readonly chunk: number; readonly eosStep: number | null; readonly steps: number; readonly frames: number}): void
}
