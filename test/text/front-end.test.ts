import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {
  loadSentencePieceTokenizer,
  maxGenLen,
  prepareChunks,
  prepareTextPrompt,
  splitIntoBestSentences,
  type SentencePieceTokenizer,
} from '../../src/text/index.js'
import {NEEDS_ORACLE, ORACLE, ORACLE_TINY, skipWithoutOracle} from '../helpers/oracle.js'
import {runPythonJson} from '../helpers/python.js'

interface UpstreamTextCase {
  text: string
  ids: number[]
  prepared: string
  frames_after_eos_guess: number
  chunks: string[]
  chunk_ids: number[][]
}

const noFlags = {padWithSpaces: false, removeSemicolons: false}

describe('maxGenLen', () => {
  it("is upstream's ceil((tokens / 3 + 2) * 12.5)", () => {
    expect([1, 10, 14, 20, 50].map((tokenCount) => maxGenLen({tokenCount}))).toEqual([30, 67, 84, 109, 234])
    expect(maxGenLen({tokenCount: 3, frameRate: 25})).toBe(75)
  })
})

describe('prepareTextPrompt (no tokenizer needed)', () => {
  it('follows Python str rules: upper() may grow, isalnum is Unicode, only one pass of "  " → " "', () => {
    expect(prepareTextPrompt({text: 'ßtraße', ...noFlags}).text).toBe('SStraße.')
    expect(prepareTextPrompt({text: 'a   b', ...noFlags}).text).toBe('A  b.')
    expect(prepareTextPrompt({text: 'numbers 42', ...noFlags}).text).toBe('Numbers 42.')
    expect(prepareTextPrompt({text: 'ends in ½', ...noFlags}).text).toBe('Ends in ½.')
    expect(prepareTextPrompt({text: 'a; b', padWithSpaces: true, removeSemicolons: true})).toEqual({
      text: `${' '.repeat(8)}A, b.`,
      framesAfterEosGuess: 3,
    })
    expect(prepareTextPrompt({text: 'one two three four five', ...noFlags}).framesAfterEosGuess).toBe(1)
  })

  it('rejects empty or whitespace-only text with EMPTY_TEXT', () => {
    expect(() => prepareTextPrompt({text: ' \n\u3000 ', ...noFlags})).toThrow(expect.objectContaining({code: 'EMPTY_TEXT'}))
  })
})

describe.skipIf(skipWithoutOracle)(`text front-end vs upstream ${NEEDS_ORACLE}`, () => {
  const cases = (): UpstreamTextCase[] =>
    JSON.parse(readFileSync(join(ORACLE, 'text', 'upstream-text-cases.json'), 'utf8')) as UpstreamTextCase[]
  let tokenizer: SentencePieceTokenizer
  beforeAll(async () => {
    tokenizer = await loadSentencePieceTokenizer({path: join(ORACLE_TINY, 'tokenizer.model'), expectedVocabSize: 4000})
  })

  it('reads the model facts from the .model file: unigram, byte fallback, identity normaliser, spaces kept', () => {
    expect(tokenizer.info).toMatchObject({
      vocabSize: 4000,
      modelType: 'unigram',
      byteFallback: true,
      normalizer: {name: 'identity', addDummyPrefix: true, removeExtraWhitespaces: false},
    })
  })

  it('matches every case of upstream-text-cases.json: ids, prepared, guess, chunks, chunk ids', async () => {
    const all = cases()
    expect(all.length).toBeGreaterThanOrEqual(21)
    for (const c of all) {
      const label = JSON.stringify(c.text)
      expect(await tokenizer.encode(c.text), label).toEqual(c.ids)
      expect(prepareTextPrompt({text: c.text, ...noFlags}), label).toEqual({
        text: c.prepared,
        framesAfterEosGuess: c.frames_after_eos_guess,
      })
      const chunks = await splitIntoBestSentences({tokenizer, text: c.text, maxTokens: 50, ...noFlags})
      expect(chunks, label).toEqual(c.chunks)
      const result = await prepareChunks({
        tokenizer,
        text: c.text,
        config: {...noFlags, recommendedFramesAfterEos: null, frameRate: 12.5, nBins: 4000},
      })
      expect(result.prepared, label).toBe(c.prepared)
      expect(
        result.chunks.map((chunk) => chunk.text),
        label,
      ).toEqual(c.chunks)
      expect(
        result.chunks.map((chunk) => chunk.ids),
        label,
      ).toEqual(c.chunk_ids)
    }
  })

  it('gives the chunk ids, frames after EOS and max_gen_len that upstream used in every golden case', async () => {
    for (const name of ['hello', 'temp0', 'short', 'lsd4', 'long']) {
      const manifest = JSON.parse(readFileSync(join(ORACLE_TINY, 'golden', name, 'manifest.json'), 'utf8')) as {
        case: {text: string}
        chunks: {text: string; n_tokens: number; max_gen_len: number; frames_after_eos: number}[]
      }
      const result = await prepareChunks({
        tokenizer,
        text: manifest.case.text,
        config: {...noFlags, recommendedFramesAfterEos: null, frameRate: 12.5, nBins: 4000},
      })
      expect(
        result.chunks.map((c) => ({text: c.text, n_tokens: c.ids.length, max_gen_len: c.maxGenLen, frames_after_eos: c.framesAfterEos})),
        name,
      ).toEqual(
        manifest.chunks.map((c) => ({
          text: c.text,
          n_tokens: c.n_tokens,
          max_gen_len: c.max_gen_len,
          frames_after_eos: c.frames_after_eos,
        })),
      )
    }
  })

  it('frames after EOS: an explicit value (even 0) wins over the model recommendation, which wins over the guess', async () => {
    const config = {...noFlags, recommendedFramesAfterEos: 8, frameRate: 12.5, nBins: null}
    expect((await prepareChunks({tokenizer, text: 'Yes.', config})).chunks[0]?.framesAfterEos).toBe(8)
    expect((await prepareChunks({tokenizer, text: 'Yes.', config, framesAfterEos: 0})).chunks[0]?.framesAfterEos).toBe(0)
    expect(
      (await prepareChunks({tokenizer, text: 'Yes.', config: {...config, recommendedFramesAfterEos: null}})).chunks[0]?.framesAfterEos,
    ).toBe(5)
  })

  it('agrees with upstream split_into_best_sentences and sp.encode/decode on generated texts, flags and limits', async () => {
    const texts = generatedTexts()
    const settings = [
      {maxTokens: 50, pad: false, semi: false},
      {maxTokens: 12, pad: false, semi: false},
      {maxTokens: 8, pad: true, semi: true},
    ]
    const upstream = await runPythonJson<{chunks: string[][][]; ids: number[][]; decoded: string[]}>(SPLIT_PY, {
      input: JSON.stringify({tokenizer: join(ORACLE_TINY, 'tokenizer.model'), texts, settings}),
    })
    const mismatches: string[] = []
    for (const [t, text] of texts.entries()) {
      const ids = await tokenizer.encode(text)
      if (JSON.stringify(ids) !== JSON.stringify(upstream.ids[t])) mismatches.push(`encode ${JSON.stringify(text)}`)
      if ((await tokenizer.decode(upstream.ids[t]!)) !== upstream.decoded[t]) mismatches.push(`decode ${JSON.stringify(text)}`)
      for (const [k, s] of settings.entries()) {
        const chunks = await splitIntoBestSentences({
          tokenizer,
          text,
          maxTokens: s.maxTokens,
          padWithSpaces: s.pad,
          removeSemicolons: s.semi,
        })
        if (JSON.stringify(chunks) !== JSON.stringify(upstream.chunks[t]![k]))
          mismatches.push(`split ${k} ${JSON.stringify(text)}: ${JSON.stringify(chunks)} vs ${JSON.stringify(upstream.chunks[t]![k])}`)
      }
    }
    expect(mismatches).toEqual([])
  })

  it('rejects a file that is not a SentencePiece model, and a vocabulary that does not fit n_bins', async () => {
    await expect(loadSentencePieceTokenizer({path: join(ORACLE_TINY, 'config.yaml')})).rejects.toMatchObject({code: 'TOKENIZER_INVALID'})
    await expect(loadSentencePieceTokenizer({path: join(ORACLE_TINY, 'tokenizer.model'), expectedVocabSize: 4001})).rejects.toMatchObject({
      code: 'TOKENIZER_VOCAB_MISMATCH',
    })
    await expect(loadSentencePieceTokenizer({path: join(ORACLE_TINY, 'nope.model')})).rejects.toMatchObject({code: 'TOKENIZER_NOT_FOUND'})
    await expect(tokenizer.encode('bad \ud800 text')).rejects.toMatchObject({code: 'TEXT_INVALID_UNICODE'})
  })
})

// Upstream's own splitter and tokenizer wrapper, run on the same texts.
const SPLIT_PY = `
import json, sys, logging
logging.disable(logging.WARNING)
from pocket_tts.conditioners.text import SentencePieceTokenizer
from pocket_tts.models.tts_model import split_into_best_sentences
req = json.load(sys.stdin)
tok = SentencePieceTokenizer(4000, req['tokenizer'])
out = {'chunks': [], 'ids': [], 'decoded': []}
for text in req['texts']:
    ids = tok.sp.encode(text, out_type=int)
    out['ids'].append(ids)
    out['decoded'].append(tok.sp.decode(ids))
    out['chunks'].append([split_into_best_sentences(tok, text, s['maxTokens'], s['pad'], remove_semicolons=s['semi']) for s in req['settings']])
print(json.dumps(out))
`

/** Deterministic texts that exercise every branch of the splitter and the tokenizer's edge cases. */
function generatedTexts(): string[] {
  let state = 12345
  const rand = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0
    return (state >>> 8) % n
  }
  const words = ['hello', 'world', 'Pocket', 'TTS', 'é', 'naïve', 'straße', '3.14', '1,000', 'U.S.A.', "don't", 'ÉCOLE', '中文', '😀', 'x']
  const seps = [
    ' ',
    ' ',
    ' ',
    '  ',
    '   ',
    '\n',
    '\r\n',
    '\t',
    '\u00a0',
    ', ',
    '; ',
    ': ',
    '. ',
    '! ',
    '? ',
    '... ',
    '.',
    ',',
    '\ufeff',
    ' \ufeff',
  ]
  const texts = ['\ufeffHello. \ufeffworld', 'Hi.\ufeff\ufeffthere', '...', 'a', ' ; ', 'x. y', 'Hello.  \ufeff', 'done.\n\nnext one']
  for (let i = 0; i < 120; i += 1) {
    const n = 1 + rand(i % 10 === 0 ? 60 : 14)
    let text = rand(6) === 0 ? '\ufeff' : ''
    for (let w = 0; w < n; w += 1) text += words[rand(words.length)]! + seps[rand(seps.length)]!
    texts.push(rand(3) === 0 ? text : text.trimEnd())
  }
  return texts
}
