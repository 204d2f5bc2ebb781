/**
 * How many frames each mimi_decoder call of a chunk carries on the worker: the first frame alone (it is the time
 * to first audio), then a short ramp, then a fixed group per call that depends on the decoder's size. A bigger call
 * runs the decoder's transformer and convolutions on longer sequences and pays the graph's ~600 small nodes once
 * for more frames: measured alone on the real-size decoder (1 thread, load ~6.5 on 2 cores, alternating in one
 * process), 4 frames per call take 26 % less time per frame than 2 (median 19.4 vs 26.2 ms; min 15.5 vs 19.2). The
 * ramp keeps the second audio frame as early as with 2 per call; by the time calls carry 4, 3 frames of audio are
 * out. Always the same grouping for a model, so the same seed gives the same bytes on the same CPU type.
 */
export const MIMI_GROUP_RAMP: readonly number[] = [1, 2]

/** Frames per call once past the ramp, for the full-size decoder (mimi_dim 512: 2.1.0, english_2026-10). */
export const MIMI_WORKER_GROUP = 4

/**
 * Frames per call once past the ramp, for a small decoder (the 4.x english_2m/7m/18m families: mimi_dim 128, 24-32
 * SEANet filters). Its per-call cost (the traced streaming code's small nodes) is most of a frame's work, so
 * larger calls keep paying off: alone, 8 per call took 8 % (7m) and 19 % (2m) less time per frame than 4, 16 no
 * less than 8; in the engine see docs/performance.md ("Small 4.x families").
 */
export const SMALL_MIMI_WORKER_GROUP = 8

/** Decoder widths (mimi_dim, the decoder's input channels) up to this take SMALL_MIMI_WORKER_GROUP frames a call. */
export const SMALL_MIMI_MAX_DIM = 256

/** Frames per call past the ramp for a decoder of this width (`EngineDims.mimiInputDim`). */
export function mimiWorkerGroup(mimiDim: number): number {
  return mimiDim <= SMALL_MIMI_MAX_DIM ? SMALL_MIMI_WORKER_GROUP : MIMI_WORKER_GROUP
}

/** Frames the `call`-th decode call (0-based, per chunk) carries for a decoder of width `mimiDim`, at most the export's `maxFrames`. */
export function mimiCallFrames(call: number, maxFrames: number, mimiDim: number): number {
  return Math.max(1, Math.min(MIMI_GROUP_RAMP[call] ?? mimiWorkerGroup(mimiDim), maxFrames))
}
