/** The model settings the text front-end needs, whatever folder format they came from. */
export interface TextConfig {
  /** Absolute path of the SentencePiece `.model` file. */
  readonly tokenizerPath: string
  /** Config `pad_with_spaces_for_short_inputs`. */
  readonly padWithSpaces: boolean
  /** Config `remove_semicolons`. */
  readonly removeSemicolons: boolean
  /** Config `model_recommended_frames_after_eos` (null: use the per-chunk guess). */
  readonly recommendedFramesAfterEos: number | null
  /** Config `mimi.frame_rate`, latent frames per second. */
  readonly frameRate: number
  /** Config `flow_lm.lookup_table.n_bins`: the tokenizer's vocabulary size (null: not checked). */
  readonly nBins: number | null
}

/** Settings used with a bare `--tokenizer` file: upstream's defaults for a config without the optional keys. */
export function defaultTextConfig(tokenizerPath: string): TextConfig {
  return {tokenizerPath, padWithSpaces: false, removeSemicolons: false, recommendedFramesAfterEos: null, frameRate: 12.5, nBins: null}
}
