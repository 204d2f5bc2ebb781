import {ModelError} from '../errors/index.js'

/** Piece types of the SentencePiece model proto. */
export type SentencePieceType = 'normal' | 'unknown' | 'control' | 'user-defined' | 'unused' | 'byte'

/** What the SentencePiece `.model` file itself says (read from its protobuf, not assumed). */
export interface SentencePieceModelInfo {
  readonly vocabSize: number
  readonly modelType: 'unigram' | 'bpe' | 'word' | 'char' | 'unknown'
  readonly byteFallback: boolean
  readonly normalizer: {
    readonly name: string
    readonly addDummyPrefix: boolean
    readonly removeExtraWhitespaces: boolean
    readonly escapeWhitespaces: boolean
  }
  readonly pieces: readonly {readonly piece: string; readonly type: SentencePieceType}[]
}

export interface ReadSentencePieceModelInfoParams {
  readonly bytes: Uint8Array
  /** Named in errors. */
  readonly path: string
}

const PIECE_TYPES: Record<number, SentencePieceType> = {1: 'normal', 2: 'unknown', 3: 'control', 4: 'user-defined', 5: 'unused', 6: 'byte'}
const MODEL_TYPES: Record<number, SentencePieceModelInfo['modelType']> = {1: 'unigram', 2: 'bpe', 3: 'word', 4: 'char'}

/**
 * Reads the few facts pockettts needs from a SentencePiece `ModelProto` (pieces, model type, byte fallback,
 * normaliser flags) with a minimal protobuf walk. The encoding itself is done by the SentencePiece library;
 * this is for validation (vocabulary size against the model's `n_bins`) and for reporting.
 */
export function readSentencePieceModelInfo(params: ReadSentencePieceModelInfoParams): SentencePieceModelInfo {
  try {
    return parseModel(params.bytes)
  } catch (error) {
    throw new ModelError({
      code: 'TOKENIZER_INVALID',
      message: `${params.path} is not a SentencePiece model (${error instanceof Error ? error.message : String(error)}).`,
      hint: 'Point --tokenizer (or the model config) at the tokenizer.model file of a Pocket TTS model.',
      details: {path: params.path},
      cause: error,
    })
  }
}

function parseModel(bytes: Uint8Array): SentencePieceModelInfo {
  const pieces: {piece: string; type: SentencePieceType}[] = []
  let modelType: SentencePieceModelInfo['modelType'] = 'unigram'
  let byteFallback = false
  const normalizer = {name: '', addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true}
  for (const field of fields(bytes, 0, bytes.length)) {
    if (field.number === 1 && field.bytes !== undefined) {
      let piece = ''
      let type: SentencePieceType = 'normal'
      for (const f of fields(bytes, field.bytes[0], field.bytes[1])) {
        if (f.number === 1 && f.bytes !== undefined) piece = utf8(bytes, f.bytes)
        if (f.number === 3 && f.varint !== undefined) type = PIECE_TYPES[f.varint] ?? 'normal'
      }
      pieces.push({piece, type})
    } else if (field.number === 2 && field.bytes !== undefined) {
      for (const f of fields(bytes, field.bytes[0], field.bytes[1])) {
        if (f.number === 3 && f.varint !== undefined) modelType = MODEL_TYPES[f.varint] ?? 'unknown'
        if (f.number === 35 && f.varint !== undefined) byteFallback = f.varint !== 0
      }
    } else if (field.number === 3 && field.bytes !== undefined) {
      for (const f of fields(bytes, field.bytes[0], field.bytes[1])) {
        if (f.number === 1 && f.bytes !== undefined) normalizer.name = utf8(bytes, f.bytes)
        if (f.number === 3 && f.varint !== undefined) normalizer.addDummyPrefix = f.varint !== 0
        if (f.number === 4 && f.varint !== undefined) normalizer.removeExtraWhitespaces = f.varint !== 0
        if (f.number === 5 && f.varint !== undefined) normalizer.escapeWhitespaces = f.varint !== 0
      }
    }
  }
  if (pieces.length === 0) throw new Error('it has no pieces')
  return {vocabSize: pieces.length, modelType, byteFallback, normalizer, pieces}
}

interface Field {
  readonly number: number
  readonly varint?: number
  /** [start, end) of a length-delimited payload. */
  readonly bytes?: readonly [number, number]
}

function* fields(buf: Uint8Array, start: number, end: number): Generator<Field> {
  let pos = start
  const varint = (): number => {
    let result = 0
    let scale = 1
    for (let i = 0; i < 10; i += 1) {
      if (pos >= end) throw new Error('truncated varint')
      const b = buf[pos++]!
      result += (b & 0x7f) * scale
      if ((b & 0x80) === 0) return result
      scale *= 128
    }
    throw new Error('varint too long')
  }
  while (pos < end) {
    const key = varint()
    const number = Math.floor(key / 8)
    const wire = key % 8
    if (number === 0) throw new Error('field number 0')
    if (wire === 0) yield {number, varint: varint()}
    else if (wire === 1) pos += 8
    else if (wire === 5) pos += 4
    else if (wire === 2) {
      const length = varint()
      if (pos + length > end) throw new Error('truncated field')
      yield {number, bytes: [pos, pos + length]}
      pos += length
    } else throw new Error(`unsupported wire type ${wire}`)
    if (pos > end) throw new Error('truncated field')
  }
}

const decoder = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true})

function utf8(buf: Uint8Array, [start, end]: readonly [number, number]): string {
  return decoder.decode(buf.subarray(start, end))
}
