import {UsageError} from '../errors/index.js'
import {
  firstCodePoint,
  isPythonAlnum,
  isPythonUpper,
  lastCodePoint,
  PYTHON_RE_SPACE_CLASS,
  pythonRstrip,
  pythonSplit,
  pythonStrip,
  pythonTranslate,
  pythonUpper,
} from './python-str.js'
import {hasV4TextRules, type TextConfig} from './text-config.js'

/** The rules of one upstream release and the config's text flags. */
export type TextRules = Pick<TextConfig, 'upstream' | 'replaceCharacters' | 'appendTerminalPunctuation' | 'capitalizeFirstLetter'>

export interface PrepareTextPromptParams {
  readonly text: string
  /** Config `pad_with_spaces_for_short_inputs`: prepend 8 spaces when the text has fewer than 5 words. */
  readonly padWithSpaces: boolean
  /** Config `remove_semicolons`: replace ";" with ",". */
  readonly removeSemicolons: boolean
  /** Which upstream's rules (default: 2.1.0's, which has no character table and always capitalises). */
  readonly rules?: TextRules
}

export interface PrepareTextPromptResult {
  readonly text: string
  /** 3 when the text has at most 4 words, else 1 (upstream adds 2 per chunk; see framesAfterEos). */
  readonly framesAfterEosGuess: number
}

const SENTENCE_MARK_THEN_WEAK = new RegExp(`([.!?\\u2026])[${PYTHON_RE_SPACE_CLASS}]*[,;:]`, 'gu')

/**
 * Upstream's `prepare_text_prompt`: strip, (4.x: the config's character table, whitespace collapsed, ",;:" after a
 * sentence mark dropped), newlines to spaces, one pass of "  " → " ", optional ";" → ",", the frames-after-EOS
 * guess from the word count, first character upper-cased (4.x: when the config says so), terminal punctuation
 * (2.1.0: "." after a final letter or digit; 4.x: see ensureTerminalPunctuation), and optional 8-space padding of
 * short texts. Python `str` semantics throughout.
 */
export function prepareTextPrompt(params: PrepareTextPromptParams): PrepareTextPromptResult {
  const v4 = params.rules !== undefined && hasV4TextRules(params.rules.upstream)
  let text = pythonStrip(params.text)
  if (v4 && Object.keys(params.rules!.replaceCharacters).length > 0) {
    text = pythonSplit(pythonTranslate(text, params.rules!.replaceCharacters)).join(' ')
    text = text.replace(SENTENCE_MARK_THEN_WEAK, '$1')
  }
  if (text === '') {
    throw new UsageError({code: 'EMPTY_TEXT', message: 'The text is empty.', hint: 'Pass some text to speak.'})
  }
  text = text.replaceAll('\n', ' ').replaceAll('\r', ' ').replaceAll('  ', ' ')
  if (params.removeSemicolons) text = text.replaceAll(';', ',')
  const framesAfterEosGuess = pythonSplit(text).length <= 4 ? 3 : 1

  const first = firstCodePoint(text)
  if ((!v4 || params.rules!.capitalizeFirstLetter) && !isPythonUpper(first)) text = pythonUpper(first) + text.slice(first.length)
  if (!v4) {
    if (isPythonAlnum(lastCodePoint(text))) text += '.'
  } else if (params.rules!.appendTerminalPunctuation) {
    text = ensureTerminalPunctuation(text)
  }
  if (params.padWithSpaces && pythonSplit(text).length < 5) text = ' '.repeat(8) + text

  return {text, framesAfterEosGuess}
}

const TERMINAL = '.!?\u2026'
const WEAK = ',;:-\u2013\u2014'
const CLOSERS = '"\'\u201d\u2019)]\u00bb'

/**
 * 4.x: a text that ends in ".!?…" (before closing quotes or brackets) stays; a trailing ",;:-–—" becomes "." (put
 * before the closers); anything else gets "." appended.
 */
function ensureTerminalPunctuation(text: string): string {
  const core = pythonRstrip(text, `${CLOSERS} `)
  const closers = pythonStrip(text.slice(core.length))
  const last = lastCodePoint(core)
  if (core === '' || TERMINAL.includes(last)) return text
  if (WEAK.includes(last)) return `${pythonRstrip(core, `${WEAK} `)}.${closers}`
  return `${text}.`
}
