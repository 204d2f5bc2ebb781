import {prepareTextPrompt, type TextRules} from './prepare-text-prompt.js'
import {firstCodePoint, isPythonDigit, pythonStrip} from './python-str.js'
import type {TextTokenizer} from './sentencepiece-tokenizer.js'
import {hasV4TextRules} from './text-config.js'

export interface SplitIntoBestSentencesParams {
  readonly tokenizer: TextTokenizer
  readonly text: string
  /** Upstream `max_tokens` (CLI `--max-tokens`, default 50). */
  readonly maxTokens: number
  readonly padWithSpaces: boolean
  readonly removeSemicolons: boolean
  /** Which upstream's rules (default 2.1.0's). */
  readonly rules?: TextRules
}

interface Segment {
  readonly tokenCount: number
  readonly text: string
}

/**
 * Upstream's `split_into_best_sentences`: prepare and strip the whole text, cut its ids after runs of
 * sentence-end ids (4.x: not after a decimal point between digits), re-cut segments longer than `maxTokens` after
 * runs of ",;:" ids, then pack segments greedily while the sum of their token counts stays within `maxTokens`.
 * Returns the chunk strings; a chunk may still exceed the limit (upstream only warns).
 */
export async function splitIntoBestSentences(params: SplitIntoBestSentencesParams): Promise<string[]> {
  const {tokenizer, maxTokens} = params
  const v4 = params.rules !== undefined && hasV4TextRules(params.rules.upstream)
  const prepared = pythonStrip(prepareTextPrompt(params).text)
  const ids = await tokenizer.encode(prepared)

  const endOfSentence = (await tokenizer.encode('.!...?')).slice(1)
  const sentenceCuts = await findBoundaryIndices(ids, endOfSentence, v4 ? tokenizer : undefined)
  const sentences = await segmentsFromBoundaries(tokenizer, ids, sentenceCuts)

  const fallback = (await tokenizer.encode(',;:')).slice(1)
  const refined: Segment[] = []
  for (const segment of sentences) {
    if (segment.tokenCount <= maxTokens) {
      refined.push(segment)
      continue
    }
    const subIds = await tokenizer.encode(pythonStrip(segment.text))
    const sub = await segmentsFromBoundaries(tokenizer, subIds, await findBoundaryIndices(subIds, fallback))
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

/**
 * Indices that cut `ids` into segments: 0, every first non-boundary id after a boundary id, and the end. With
 * `decimalsWith` (4.x), a cut right after a decimal point between digits ("12.75") is not made.
 */
async function findBoundaryIndices(ids: readonly number[], boundary: readonly number[], decimalsWith?: TextTokenizer): Promise<number[]> {
  const indices = [0]
  let previousWasBoundary = false
  for (const [index, id] of ids.entries()) {
    if (boundary.includes(id)) {
      previousWasBoundary = true
      continue
    }
    if (previousWasBoundary && !(decimalsWith !== undefined && (await isDecimalPeriodBoundary(ids, index, decimalsWith)))) {
      indices.push(index)
    }
    previousWasBoundary = false
  }
  indices.push(ids.length)
  return indices
}

/** 4.x: the text before `index` ends in a digit and ".", and the text from `index` starts with a digit. */
async function isDecimalPeriodBoundary(ids: readonly number[], index: number, tokenizer: TextTokenizer): Promise<boolean> {
  const prefix = Array.from(await tokenizer.decode(ids.slice(0, index)))
  const suffix = await tokenizer.decode(ids.slice(index))
  return (
    prefix.length >= 2 && prefix.at(-1) === '.' && isPythonDigit(prefix.at(-2)!) && suffix !== '' && isPythonDigit(firstCodePoint(suffix))
  )
}

async function segmentsFromBoundaries(tokenizer: TextTokenizer, ids: readonly number[], indices: readonly number[]): Promise<Segment[]> {
  const segments: Segment[] = []
  for (let i = 0; i + 1 < indices.length; i += 1) {
    const start = indices[i]!
    const end = indices[i + 1]!
    segments.push({tokenCount: end - start, text: await tokenizer.decode(ids.slice(start, end))})
  }
  return segments
}
