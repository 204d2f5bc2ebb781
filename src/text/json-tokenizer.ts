import {existsSync} from 'node:fs'
import {Tokenizer} from 'tokenizers'
import {ModelError} from '../errors/index.js'
import type {TextTokenizer} from './sentencepiece-tokenizer.js'
import {assertEncodableText, assertTokenIds} from './tokenizer-input.js'

export interface LoadJsonTokenizerParams {
  /** A `tokenizer.json` (HF tokenizers format). */
  readonly path: string
  /** The model's `n_bins`; upstream asserts it equals the vocabulary size. */
  readonly expectedVocabSize?: number
}

/**
 * Upstream 4.x's `JsonTokenizer` on HF tokenizers' own implementation (the `tokenizers` package: the Rust library
 * that Python's `tokenizers` wraps), so ids and decoded text are upstream's, pieces outside the vocabulary and
 * byte fallback included. `decode` skips special tokens, as Python's does by default.
 */
export async function loadJsonTokenizer(params: LoadJsonTokenizerParams): Promise<TextTokenizer> {
  const {path} = params
  if (!existsSync(path)) {
    throw new ModelError({
      code: 'TOKENIZER_NOT_FOUND',
      message: `Cannot read the tokenizer file ${path}.`,
      hint: 'Check the tokenizer_path in the model config, or download the model again.',
      details: {path},
    })
  }
  let tokenizer: Tokenizer
  try {
    tokenizer = Tokenizer.fromFile(path)
  } catch (error) {
    throw new ModelError({
      code: 'TOKENIZER_INVALID',
      message: `HF tokenizers could not load ${path}: ${(error as Error).message}`,
      hint: 'Point the model config at the tokenizer.json of a Pocket TTS model.',
      details: {path},
      cause: error,
    })
  }
  const vocabSize = tokenizer.getVocabSize(true)
  if (params.expectedVocabSize !== undefined && vocabSize !== params.expectedVocabSize) {
    throw new ModelError({
      code: 'TOKENIZER_VOCAB_MISMATCH',
      message: `${path} has ${vocabSize} tokens but the model expects n_bins = ${params.expectedVocabSize}.`,
      hint: 'Use the tokenizer that belongs to this model (each Pocket TTS language has its own).',
      details: {path, vocabSize, expected: params.expectedVocabSize},
    })
  }
  return {
    kind: 'tokenizers',
    path,
    vocabSize,
    async encode(text: string): Promise<number[]> {
      assertEncodableText(text)
      return Array.from((await tokenizer.encode(text)).getIds())
    },
    async decode(ids: readonly number[]): Promise<string> {
      assertTokenIds(ids, vocabSize)
      return tokenizer.decode([...ids], true)
    },
  }
}
