/**
 * How many frames each mimi_decoder call of a chunk carries on the worker: the first frame alone (it is the time
 * to first audio), then a short ramp, then MIMI_WORKER_GROUP per call. A bigger call runs the decoder's
 * transformer and convolutions on longer sequences and pays the graph's ~600 small nodes once for more frames:
 * measured alone on the real-size decoder (1 thread, load ~6.5 on 2 cores, alternating in one process), 4 frames
 * per call take 26 % less time per frame than 2 (median 19.4 vs 26.2 ms; min 15.5 vs 19.2). The ramp keeps the
 * second audio frame as early as with 2 per call; by the time calls carry 4, 3 frames of audio are out.
 * Always the same grouping, so the same seed gives the same bytes on the same CPU type.
 */
export const MIMI_GROUP_RAMP: readonly number[] = [1, 2]

/** Frames per call once past the ramp. */
export const MIMI_WORKER_GROUP = 4

/** Frames the `call`-th decode call (0-based, per chunk) carries, at most the export's `maxFrames`. */
export function mimiCallFrames(call: number, maxFrames: number): number {
  return Math.max(1, Math.min(MIMI_GROUP_RAMP[call] ?? MIMI_WORKER_GROUP, maxFrames))
}
