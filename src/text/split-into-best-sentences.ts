import {prepareTextPrompt} from './prepare-text-prompt.js'
import {pythonStrip} from './python-str.js'
import type {TextTokenizer} from './sentencepiece-tokenizer.js'

export interface SplitIntoBestSentencesParams {
  readonly tokenizer: TextTokenizer
  readonly text: string
  /** Upstream `max_tokens` (CLI `--max-tokens`, default 50). */
  readonly maxTokens: number
  readonly padWithSpaces: boolean
  readonly removeSemicolons: boolean
}

interface Segment {
  readonly tokenCount: number
  readonly text: string
}

/**
 * Upstream's `split_into_best_sentences`: prepare and strip the whole text, cut its ids after runs of
 * sentence-end ids, re-cut segments longer than `maxTokens` after runs of ",;:" ids, then pack segments
 * greedily while the sum of their token counts stays within `maxTokens`. Returns the chunk strings; a chunk
 * may still exceed the limit (upstream only warns).
 */
export function splitIntoBestSentences(params: SplitIntoBestSentencesParams): string[] {
  const {tokenizer, maxTokens} = params
  const prepared = pythonStrip(prepareTextPrompt(params).text)
  const ids = tokenizer.encode(prepared)

  const endOfSentence = tokenizer.encode('.!...?').slice(1)
  const sentences = segmentsFromBoundaries(tokenizer, ids, findBoundaryIndices(ids, endOfSentence))

  const fallback = tokenizer.encode(',;:').slice(1)
  const refined: Segment[] = []
  for (const segment of sentences) {
    if (segment.tokenCount <= maxTokens) {
      refined.push(segment)
      continue
    }
    const subIds = tokenizer.encode(pythonStrip(segment.text))
    const sub = segmentsFromBoundaries(tokenizer, subIds, findBoundaryIndices(subIds, fallback))
    if (sub.length > 1) refined.push(...sub)
    else refined.push(segment)
  }

  const chunks: string[] = []
  let current = ''
  let currentCount = 0
  for (const segment of refined) {
    if (current === '') {
      current = segment.text
      currentCount = segment.tokenCount
    } else if (currentCount + segment.tokenCount > maxTokens) {
      chunks.push(pythonStrip(current))
      current = segment.text
      currentCount = segment.tokenCount
    } else {
      current += ` ${segment.text}`
      currentCount += segment.tokenCount
    }
  }
  if (current !== '') chunks.push(pythonStrip(current))
  return chunks
}

/** Indices that cut `ids` into segments: 0, every first non-boundary id after a boundary id, and the end. */
function findBoundaryIndices(ids: readonly number[], boundary: readonly number[]): number[] {
  const indices = [0]
  let previousWasBoundary = false
  ids.forEach((id, index) => {
    if (boundary.includes(id)) {
      previousWasBoundary = true
    } else {
      if (previousWasBoundary) indices.push(index)
      previousWasBoundary = false
    }
  })
  indices.push(ids.length)
  return indices
}

function segmentsFromBoundaries(tokenizer: TextTokenizer, ids: readonly number[], indices: readonly number[]): Segment[] {
  const segments: Segment[] = []
  for (let i = 0; i + 1 < indices.length; i += 1) {
    const start = indices[i]!
    const end = indices[i + 1]!
    segments.push({tokenCount: end - start, text: tokenizer.decode(ids.slice(start, end))})
  }
  return segments
}
