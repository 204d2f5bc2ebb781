export interface FramesAfterEosParams {
  /** `prepare_text_prompt(chunk)`'s guess (3 for at most 4 words, else 1). */
  readonly guess: number
  /** The caller's `frames_after_eos` argument; wins when given (0 included). */
  readonly requested?: number | null
  /** Config `model_recommended_frames_after_eos`; used when no argument is given. */
  readonly recommended?: number | null
}

/** Frames generated after EOS fires for one chunk, as upstream's `generate_audio_stream` picks them. */
export function framesAfterEos(params: FramesAfterEosParams): number {
  return params.requested ?? params.recommended ?? params.guess + 2
}
