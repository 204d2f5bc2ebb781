import {describe, expect, it} from 'vitest'
import {
  isPythonAlnum,
  isPythonSpace,
  isPythonUpper,
  lastCodePoint,
  pythonSplit,
  pythonStrip,
  pythonUpper,
} from '../../src/text/python-str.js'
import {runPythonJson} from '../helpers/python.js'

interface UnicodeFacts {
  version: string
  assigned: [number, number][]
  space: number[]
  upper: [number, number][]
  alnum: [number, number][]
  upperMap: Record<string, string>
}

// Python's view of every assigned code point (its own Unicode version): ranges of isupper/isalnum, the
// isspace set and every code point whose upper() differs from itself.
const FACTS_PY = `
import json, sys, unicodedata
def ranges(pred, cps):
    out, start, prev = [], None, None
    for cp in cps:
        if pred(cp):
            if start is None: start = cp
            elif cp != prev + 1: out.append([start, prev]); start = cp
            prev = cp
    if start is not None: out.append([start, prev])
    return out
cps = [cp for cp in range(0x110000) if unicodedata.category(chr(cp)) not in ('Cn', 'Cs')]
print(json.dumps({
  'version': unicodedata.unidata_version,
  'assigned': ranges(lambda cp: True, cps),
  'space': [cp for cp in cps if chr(cp).isspace()],
  'upper': ranges(lambda cp: chr(cp).isupper(), cps),
  'alnum': ranges(lambda cp: chr(cp).isalnum(), cps),
  'upperMap': {str(cp): chr(cp).upper() for cp in cps if chr(cp).upper() != chr(cp)},
}))
`

function inRanges(ranges: [number, number][]): Set<number> {
  const set = new Set<number>()
  for (const [a, b] of ranges) for (let cp = a; cp <= b; cp += 1) set.add(cp)
  return set
}

describe('Python str semantics', () => {
  it('strip/split use exactly Python whitespace, per code point', () => {
    expect(pythonStrip('\u3000\x1f a b \u0085\t')).toBe('a b')
    expect(pythonStrip('\ufeffa')).toBe('\ufeffa')
    expect(pythonSplit('  one\u00a0two\u2003 three\n')).toEqual(['one', 'two', 'three'])
    expect(pythonSplit(' \t ')).toEqual([])
    expect(lastCodePoint('a😀')).toBe('😀')
  })

  it('agrees with CPython on isspace, isupper, isalnum and upper() for every code point both know', async () => {
    const facts = await runPythonJson<UnicodeFacts>(FACTS_PY)
    const space = new Set(facts.space)
    const upper = inRanges(facts.upper)
    const alnum = inRanges(facts.alnum)
    const assigned = inRanges(facts.assigned)
    const knownToPython = (text: string): boolean => Array.from(text).every((c) => assigned.has(c.codePointAt(0)!))
    const mismatches: string[] = []
    // Code points that Node's ICU (a newer Unicode) assigns but Python's does not are not compared, nor
    // case mappings to such code points (e.g. U+019B gained an uppercase partner in Unicode 16).
    for (const [a, b] of facts.assigned) {
      for (let cp = a; cp <= b; cp += 1) {
        const ch = String.fromCodePoint(cp)
        if (isPythonSpace(cp) !== space.has(cp)) mismatches.push(`isspace U+${cp.toString(16)}`)
        if (isPythonUpper(ch) !== upper.has(cp)) mismatches.push(`isupper U+${cp.toString(16)}`)
        if (isPythonAlnum(ch) !== alnum.has(cp)) mismatches.push(`isalnum U+${cp.toString(16)}`)
        const expected = facts.upperMap[String(cp)] ?? ch
        if (pythonUpper(ch) !== expected && knownToPython(pythonUpper(ch))) mismatches.push(`upper U+${cp.toString(16)}`)
      }
    }
    expect(mismatches, `Python Unicode ${facts.version}`).toEqual([])
  })
})
