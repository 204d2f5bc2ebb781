import {SentencePieceProcessor} from '@sctg/sentencepiece-js'
import {readFile} from 'node:fs/promises'
import {ModelError} from '../errors/index.js'
import {readSentencePieceModelInfo, type SentencePieceModelInfo} from './read-sentencepiece-model-info.js'
import {assertEncodableText, assertTokenIds} from './tokenizer-input.js'

/**
 * Text ↔ token ids, as upstream's tokenizers (`SentencePieceTokenizer`: `sp.encode(text)`, `sp.decode(ids)`; 4.x
 * `JsonTokenizer`: `tokenizer.encode(text).ids`, `tokenizer.decode(ids)`). Asynchronous because the
 * `tokenizer.json` implementation (HF tokenizers' own Rust code) runs off the JavaScript thread.
 */
export interface TextTokenizer {
  readonly kind: 'sentencepiece' | 'tokenizers'
  readonly path: string
  readonly vocabSize: number
  /** Plain `encode`: no BOS/EOS, the model's own normaliser. */
  encode(text: string): Promise<number[]>
  decode(ids: readonly number[]): Promise<string>
}

export interface SentencePieceTokenizer extends TextTokenizer {
  readonly kind: 'sentencepiece'
  readonly info: SentencePieceModelInfo
}

export interface LoadSentencePieceTokenizerParams {
  /** A SentencePiece `.model` file. */
  readonly path: string
  /** The model's `n_bins`; upstream asserts it equals the vocabulary size. */
  readonly expectedVocabSize?: number
}

/** The parts of the WebAssembly build's embind objects this module uses. */
interface WasmStatus {
  ToString(): string
  delete(): void
}
interface WasmProcessor {
  status(): WasmStatus
}

/**
 * Loads a SentencePiece model with the real SentencePiece library (C++ compiled to WebAssembly,
 * `@sctg/sentencepiece-js`), so ids are upstream's exactly. The model file is also read directly to check
 * its vocabulary size and to report its normaliser settings.
 */
export async function loadSentencePieceTokenizer(params: LoadSentencePieceTokenizerParams): Promise<SentencePieceTokenizer> {
  const {path} = params
  const bytes = await readFile(path).catch((error: unknown) => {
    throw new ModelError({
      code: 'TOKENIZER_NOT_FOUND',
      message: `Cannot read the tokenizer file ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}).`,
      hint: 'Check the path given with --tokenizer, or the tokenizer_path in the model config.',
      details: {path},
      cause: error,
    })
  })
  const info = readSentencePieceModelInfo({bytes, path})
  if (params.expectedVocabSize !== undefined && info.vocabSize !== params.expectedVocabSize) {
    throw new ModelError({
      code: 'TOKENIZER_VOCAB_MISMATCH',
      message: `${path} has ${info.vocabSize} pieces but the model expects n_bins = ${params.expectedVocabSize}.`,
      hint: 'Use the tokenizer that belongs to this model (each Pocket TTS language has its own).',
      details: {path, vocabSize: info.vocabSize, expected: params.expectedVocabSize},
    })
  }
  const spp = new SentencePieceProcessor()
  await spp.loadFromB64StringModel(bytes.toString('base64'))
  const status = (spp.processor as WasmProcessor).status()
  const statusText = status.ToString()
  status.delete()
  if (statusText !== 'OK') {
    throw new ModelError({
      code: 'TOKENIZER_INVALID',
      message: `SentencePiece could not load ${path}: ${statusText}`,
      hint: 'Point --tokenizer (or the model config) at the tokenizer.model file of a Pocket TTS model.',
      details: {path},
    })
  }
  const sentinel = findSentinel(info)

  const rawDecode = (ids: readonly number[]): string => String(spp.decodeIds(Int32Array.from(ids)))

  return {
    kind: 'sentencepiece',
    path,
    info,
    vocabSize: info.vocabSize,
    async encode(text: string): Promise<number[]> {
      assertEncodableText(text)
      return spp.encodeIds(text)
    },
    async decode(ids: readonly number[]): Promise<string> {
      assertTokenIds(ids, info.vocabSize)
      const text = rawDecode(ids)
      if (sentinel === undefined || ids.length === 0) return text
      return restoreLeadingBom(text, rawDecode([sentinel.id, ...ids]).slice(sentinel.surface.length))
    },
  }
}

/**
 * The WebAssembly build hands decoded strings to JavaScript through a TextDecoder that drops a leading
 * U+FEFF, which Python's `sp.decode` keeps. Decoding again behind a one-letter sentinel piece gives the
 * same text without that loss, but also without SentencePiece's removal of a leading "▁" (a space), so
 * the original starts with U+FEFF exactly when the sentinel decode is U+FEFF or " U+FEFF" + `text`.
 */
function restoreLeadingBom(text: string, behindSentinel: string): string {
  return behindSentinel === `\ufeff${text}` || behindSentinel === ` \ufeff${text}` ? `\ufeff${text}` : text
}

/** A piece that decodes to one ASCII letter wherever it stands (a normal piece, else the byte piece for "A"). */
function findSentinel(info: SentencePieceModelInfo): {id: number; surface: string} | undefined {
  const normal = info.pieces.findIndex((p) => p.type === 'normal' && /^[A-Za-z]$/.test(p.piece))
  if (normal >= 0) return {id: normal, surface: info.pieces[normal]!.piece}
  const byte = info.pieces.findIndex((p) => p.type === 'byte' && p.piece === '<0x41>')
  return byte >= 0 ? {id: byte, surface: 'A'} : undefined
}
