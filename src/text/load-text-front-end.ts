import {resolve} from 'node:path'
import {UsageError} from '../errors/index.js'
import {loadJsonTokenizer} from './json-tokenizer.js'
import {loadSentencePieceTokenizer, type TextTokenizer} from './sentencepiece-tokenizer.js'
import {defaultTextConfig, type TextConfig, type UpstreamRelease} from './text-config.js'
import {loadTextConfig} from './load-text-config.js'

export interface LoadTextFrontEndParams {
  /** A model folder or upstream config file (its tokenizer and text settings). */
  readonly model?: string
  /** A bare tokenizer file (SentencePiece `.model` or `tokenizer.json`), with upstream's default text settings. */
  readonly tokenizer?: string
  /** Whose text rules apply (default 2.1.0; an export says its own). */
  readonly upstream?: UpstreamRelease
}

export interface TextFrontEnd {
  readonly config: TextConfig
  readonly tokenizer: TextTokenizer
}

/** The tokenizer and text settings for `model` or `tokenizer` (exactly one of them). */
export async function loadTextFrontEnd(params: LoadTextFrontEndParams): Promise<TextFrontEnd> {
  if (params.model !== undefined && params.tokenizer !== undefined) {
    throw new UsageError({
      code: 'USAGE',
      message: 'Pass either a model or a tokenizer, not both.',
      hint: 'Use --model DIR or --tokenizer FILE.',
    })
  }
  let config: TextConfig
  if (params.tokenizer !== undefined) config = defaultTextConfig(resolve(params.tokenizer), params.upstream)
  else if (params.model !== undefined)
    config = await loadTextConfig({model: params.model, ...(params.upstream === undefined ? {} : {upstream: params.upstream})})
  else {
    throw new UsageError({
      code: 'NO_TOKENIZER',
      message: 'No model or tokenizer was given.',
      hint: 'Pass --model DIR (a folder with config.yaml and tokenizer.model) or --tokenizer FILE (a SentencePiece .model), or set POCKETTTS_MODEL.',
    })
  }
  const load = config.tokenizerKind === 'tokenizers' ? loadJsonTokenizer : loadSentencePieceTokenizer
  const tokenizer = await load({path: config.tokenizerPath, ...(config.nBins === null ? {} : {expectedVocabSize: config.nBins})})
  return {config, tokenizer}
}
