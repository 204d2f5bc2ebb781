import {UsageError} from '../errors/index.js'

const LONE_SURROGATE = /\p{Cs}/u

/** TEXT_INVALID_UNICODE for text with an unpaired UTF-16 surrogate (it has no UTF-8 form, so no tokenizer can take it). */
export function assertEncodableText(text: string): void {
  if (LONE_SURROGATE.test(text)) {
    throw new UsageError({
      code: 'TEXT_INVALID_UNICODE',
      message: 'The text contains an unpaired UTF-16 surrogate and cannot be encoded as UTF-8.',
      hint: 'Pass valid Unicode text.',
    })
  }
}

/** TOKEN_ID_OUT_OF_RANGE for an id that is not a whole number in 0..vocabSize-1. */
export function assertTokenIds(ids: readonly number[], vocabSize: number): void {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new UsageError({code: 'TOKEN_ID_OUT_OF_RANGE', message: `Token id ${id} is outside 0..${vocabSize - 1}.`})
    }
  }
}
