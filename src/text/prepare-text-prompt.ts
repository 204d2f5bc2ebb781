import {UsageError} from '../errors/index.js'
import {firstCodePoint, isPythonAlnum, isPythonUpper, lastCodePoint, pythonSplit, pythonStrip, pythonUpper} from './python-str.js'

export interface PrepareTextPromptParams {
  readonly text: string
  /** Config `pad_with_spaces_for_short_inputs`: prepend 8 spaces when the text has fewer than 5 words. */
  readonly padWithSpaces: boolean
  /** Config `remove_semicolons`: replace ";" with ",". */
  readonly removeSemicolons: boolean
}

export interface PrepareTextPromptResult {
  readonly text: string
  /** 3 when the text has at most 4 words, else 1 (upstream adds 2 per chunk; see framesAfterEos). */
  readonly framesAfterEosGuess: number
}

/**
 * Upstream's `prepare_text_prompt`: strip, newlines to spaces, one pass of "  " → " ", optional ";" → ",",
 * the frames-after-EOS guess from the word count, first character upper-cased, a "." appended after a
 * final letter or digit, and optional 8-space padding of short texts. Python `str` semantics throughout.
 */
export function prepareTextPrompt(params: PrepareTextPromptParams): PrepareTextPromptResult {
  let text = pythonStrip(params.text)
  if (text === '') {
    throw new UsageError({code: 'EMPTY_TEXT', message: 'The text is empty.', hint: 'Pass some text to speak.'})
  }
  text = text.replaceAll('\n', ' ').replaceAll('\r', ' ').replaceAll('  ', ' ')
  if (params.removeSemicolons) text = text.replaceAll(';', ',')
  const framesAfterEosGuess = pythonSplit(text).length <= 4 ? 3 : 1

  const first = firstCodePoint(text)
  if (!isPythonUpper(first)) text = pythonUpper(first) + text.slice(first.length)
  if (isPythonAlnum(lastCodePoint(text))) text += '.'
  if (params.padWithSpaces && pythonSplit(text).length < 5) text = ' '.repeat(8) + text

  return {text, framesAfterEosGuess}
}
