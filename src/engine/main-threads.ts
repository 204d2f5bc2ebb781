export interface MainThreadCountParams {
  /** The cores the engine may use (onnxruntime's default intra-op thread count). */
  readonly cores: number
  /** Intra-op threads of the Mimi worker beside the FlowLM; 0 without a worker (Mimi inline). */
  readonly mimiWorkerThreads: number
  /** The FlowLM step and head are int8 and the Mimi decoder fp32 (an int8 export that kept Mimi fp32). */
  readonly int8StepFp32Mimi: boolean
  /** Bytes of the graph an AR step runs (flow_lm_main_flow or flow_lm_main); null when the batcher steps. */
  readonly stepBytes: number | null
}

/**
 * A FlowLM step graph up to this size runs on one intra-op thread beside the Mimi worker: its weights stay in the
 * caches, and a second thread's hand-offs cost more than it computes, besides taking the core the worker (there the
 * bottleneck) needs. english_7m (17 MB) alone on onnxruntime-node, 5 runs each: 0.94–1.18 ms on 1 thread against
 * 1.16–1.50 on 2; `bench`, alternating: 1 thread faster in 6 of 6 rounds (28.5–29.5x vs 25.7–28.8x real time).
 * english_2m (4 MB): the same speed (alone 0.37–0.44 vs 0.38–0.41 ms). english_18m (55 MB) streams from memory and
 * gains from 2 (3.37–4.11 vs 3.95–4.32 ms alone), like the full-size step.
 */
export const CACHED_STEP_BYTES = 24_000_000

/**
 * Intra-op threads of the main-thread sessions (FlowLM, flow head, text) when the caller does not choose.
 *
 * Measured on 2 cores (bench, full-size model): an fp32 FlowLM step is the bottleneck and gains from every core
 * (Mimi's worker fits in the gaps: 2.1x vs 1.8x real time); an int8 step beside an fp32 Mimi decoder is light and
 * Mimi becomes the bottleneck, so the FlowLM leaves the worker its core (3.2x vs 3.0x). With the decoder int8 too
 * (~5 ms a frame on the worker against the step's ~7), the step is the bottleneck again and takes every core: 7
 * alternating rounds, 2 threads faster in 5 (medians 9.6x vs 8.9x real time). A step small enough to stay in the
 * caches takes one thread beside the worker (CACHED_STEP_BYTES).
 */
export function mainThreadCount(params: MainThreadCountParams): number {
  const {cores, mimiWorkerThreads, stepBytes} = params
  if (mimiWorkerThreads === 0) return cores
  if (stepBytes !== null && stepBytes <= CACHED_STEP_BYTES) return 1
  return params.int8StepFp32Mimi ? Math.max(1, cores - mimiWorkerThreads) : cores
}
