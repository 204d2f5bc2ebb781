/** Upstream's `_TOKENS_PER_SECOND_ESTIMATE` and `_GEN_SECONDS_PADDING`. */
const TOKENS_PER_SECOND = 3.0
const PADDING_SECONDS = 2.0

export interface MaxGenLenParams {
  /** Token count of the chunk. */
  readonly tokenCount: number
  /** Latent frames per second: config `mimi.frame_rate` (12.5 for every Pocket TTS model). */
  readonly frameRate?: number
}

/** Upstream's `_estimate_max_gen_len`: `ceil((tokens / 3 + 2) * frame_rate)` latent frames. */
export function maxGenLen(params: MaxGenLenParams): number {
  const {tokenCount, frameRate = 12.5} = params
  return Math.ceil((tokenCount / TOKENS_PER_SECOND + PADDING_SECONDS) * frameRate)
}
