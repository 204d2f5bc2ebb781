// Python `str` semantics that upstream's text front-end relies on (strip, split, isupper, isalnum, upper),
// reproduced per code point so that the TypeScript front-end returns the same strings as upstream.

/** Code points for which Python's `str.isspace()` is true (what `strip()` and `split()` remove). */
const PYTHON_WHITESPACE = new Set<number>([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
  0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
])

/** Python `ch.isspace()` for one code point. */
export function isPythonSpace(codePoint: number): boolean {
  return PYTHON_WHITESPACE.has(codePoint)
}

/** Python `text.strip()` (no argument). */
export function pythonStrip(text: string): string {
  const chars = Array.from(text)
  let start = 0
  let end = chars.length
  while (start < end && isPythonSpace(chars[start]!.codePointAt(0)!)) start += 1
  while (end > start && isPythonSpace(chars[end - 1]!.codePointAt(0)!)) end -= 1
  return chars.slice(start, end).join('')
}

/** Python `text.split()` (no argument): runs of whitespace separate words; no empty words. */
export function pythonSplit(text: string): string[] {
  const words: string[] = []
  let current = ''
  for (const ch of text) {
    if (isPythonSpace(ch.codePointAt(0)!)) {
      if (current !== '') words.push(current)
      current = ''
    } else {
      current += ch
    }
  }
  if (current !== '') words.push(current)
  return words
}

const UPPERCASE = /^\p{Uppercase}$/u
const ALNUM = /^[\p{L}\p{N}]$/u

/** Python `ch.isupper()` for a one-code-point string (the Unicode `Uppercase` property). */
export function isPythonUpper(ch: string): boolean {
  return UPPERCASE.test(ch)
}

/** Python `ch.isalnum()` for a one-code-point string (letters and numeric characters). */
export function isPythonAlnum(ch: string): boolean {
  return ALNUM.test(ch)
}

/** Python `ch.upper()`: full Unicode case mapping, so one character may become several ("ß" → "SS"). */
export function pythonUpper(ch: string): string {
  return ch.toUpperCase()
}

/** First code point of a string ('' when empty). */
export function firstCodePoint(text: string): string {
  const cp = text.codePointAt(0)
  return cp === undefined ? '' : String.fromCodePoint(cp)
}

/** Last code point of a string ('' when empty). */
export function lastCodePoint(text: string): string {
  if (text === '') return ''
  const last = text.charCodeAt(text.length - 1)
  if (last >= 0xdc00 && last <= 0xdfff && text.length >= 2) {
    const before = text.charCodeAt(text.length - 2)
    if (before >= 0xd800 && before <= 0xdbff) return text.slice(-2)
  }
  return text.slice(-1)
}

/** Python `text.rstrip(chars)`: trailing code points that are in `chars` removed. */
export function pythonRstrip(text: string, chars: string): string {
  const set = new Set(Array.from(chars))
  const points = Array.from(text)
  let end = points.length
  while (end > 0 && set.has(points[end - 1]!)) end -= 1
  return points.slice(0, end).join('')
}

/** Python `text.translate(str.maketrans(table))` for a table of single characters to strings ('' deletes). */
export function pythonTranslate(text: string, table: Readonly<Record<string, string>>): string {
  let out = ''
  for (const ch of text) out += Object.hasOwn(table, ch) ? table[ch]! : ch
  return out
}

/** A regular-expression class body of the code points Python's `re` matches with `\s` in a str pattern. */
export const PYTHON_RE_SPACE_CLASS = Array.from(PYTHON_WHITESPACE, (cp) => `\\u{${cp.toString(16)}}`).join('')

const DIGIT = /^[\p{Nd}\u00b2\u00b3\u00b9\u2070\u2074-\u2079\u2080-\u2089]$/u

/** Python `ch.isdigit()` for a one-code-point string (decimal digits and the super/subscript digits). */
export function isPythonDigit(ch: string): boolean {
  return DIGIT.test(ch)
}
