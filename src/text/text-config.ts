import type {UpstreamRelease} from '../upstream/upstream-releases.js'

/** Upstream pocket-tts releases whose text front end pockettts reproduces: the pinned ones (contracts/upstreams.json). */
export {UPSTREAM_RELEASES, type UpstreamRelease} from '../upstream/upstream-releases.js'

/** True for the releases after 2.1.0, whose text rules changed (an unset release means 2.1.0's rules). */
export function hasV4TextRules(upstream: UpstreamRelease | undefined): boolean {
  return upstream !== undefined && upstream !== '2.1.0'
}

/** The model settings the text front-end needs, whatever folder format they came from. */
export interface TextConfig {
  /** Absolute path of the tokenizer: a SentencePiece `.model` or a `tokenizer.json` (HF tokenizers). */
  readonly tokenizerPath: string
  /** Config `flow_lm.lookup_table.tokenizer` (4.x): `tokenizers` reads `tokenizer.json`; else by the file suffix. */
  readonly tokenizerKind: 'sentencepiece' | 'tokenizers'
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
  /** The upstream release whose text rules apply (they changed in 3.x/4.x). */
  readonly upstream: UpstreamRelease
  /** 4.x config `replace_characters`: one character -> its replacement, applied first ({} = none). */
  readonly replaceCharacters: Readonly<Record<string, string>>
  /** 4.x config `append_terminal_punctuation` (default true). */
  readonly appendTerminalPunctuation: boolean
  /** 4.x config `capitalize_first_letter` (default true). */
  readonly capitalizeFirstLetter: boolean
}

/** The 4.x text settings a config without them has (upstream's defaults; 2.1.0 has no such keys). */
export const DEFAULT_TEXT_RULES = {replaceCharacters: {}, appendTerminalPunctuation: true, capitalizeFirstLetter: true} as const

/** The tokenizer kind upstream 4.x picks: the config's `tokenizer` field, else the file suffix. */
export function tokenizerKindOf(path: string, configured?: unknown): 'sentencepiece' | 'tokenizers' {
  if (configured === 'tokenizers' || configured === 'json') return 'tokenizers'
  return (path.split('@')[0] ?? path).endsWith('.json') ? 'tokenizers' : 'sentencepiece'
}

/** Settings used with a bare `--tokenizer` file: upstream's defaults for a config without the optional keys. */
export function defaultTextConfig(tokenizerPath: string, upstream: UpstreamRelease = '2.1.0'): TextConfig {
  return {
    tokenizerPath,
    tokenizerKind: tokenizerKindOf(tokenizerPath),
    padWithSpaces: false,
    removeSemicolons: false,
    recommendedFramesAfterEos: null,
    frameRate: 12.5,
    nBins: null,
    upstream,
    ...DEFAULT_TEXT_RULES,
  }
}
