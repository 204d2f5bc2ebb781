import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {loadTextConfig} from '../../src/text/index.js'
import {runCli} from '../helpers/cli.js'
import {NEEDS_ORACLE, ORACLE, ORACLE_TINY, skipWithoutOracle} from '../helpers/oracle.js'

interface UpstreamTextCase {
  text: string
  ids: number[]
  prepared: string
  chunks: string[]
  chunk_ids: number[][]
}

describe.skipIf(skipWithoutOracle)(`pockettts text ${NEEDS_ORACLE}`, () => {
  it('--json prints upstream ids, prepared text and chunks (with --model and with --tokenizer)', async () => {
    const cases = JSON.parse(readFileSync(join(ORACLE, 'text', 'upstream-text-cases.json'), 'utf8')) as UpstreamTextCase[]
    const picked = cases.filter((c) => ['hello world', 'Yes'].includes(c.text) || c.chunks.length > 1 || c.text.includes('\t'))
    expect(picked.length).toBeGreaterThanOrEqual(4)
    for (const [i, c] of picked.entries()) {
      const source = i % 2 === 0 ? ['--model', ORACLE_TINY] : ['--tokenizer', join(ORACLE_TINY, 'tokenizer.model')]
      const run = await runCli(['text', c.text, ...source, '--json'])
      expect(run.exitCode, run.stderr).toBe(0)
      const out = JSON.parse(run.stdout) as {
        ids: number[]
        prepared: string
        chunks: {text: string; ids: number[]; framesAfterEos: number; maxGenLen: number}[]
      }
      expect(out.ids).toEqual(c.ids)
      expect(out.prepared).toBe(c.prepared)
      expect(out.chunks.map((k) => k.text)).toEqual(c.chunks)
      expect(out.chunks.map((k) => k.ids)).toEqual(c.chunk_ids)
      for (const k of out.chunks) expect(k.maxGenLen).toBe(Math.ceil((k.ids.length / 3 + 2) * 12.5))
    }
  })

  it('prints a table for people and fails with a code when neither --model nor --tokenizer is given', async () => {
    const ok = await runCli(['text', 'hello world', '--model', ORACLE_TINY, '--frames-after-eos', '7'])
    expect(ok.exitCode).toBe(0)
    expect(ok.stdout).toContain('prepared: "Hello world."')
    expect(ok.stdout).toMatch(/0\s+3\s+7\s+38\s+"Hello world\."/)
    const none = await runCli(['text', 'hello', '--json'])
    expect(none.exitCode).toBe(2)
    expect(JSON.parse(none.stdout)).toMatchObject({error: {code: 'NO_TOKENIZER'}})
    const empty = await runCli(['text', '  ', '--tokenizer', join(ORACLE_TINY, 'tokenizer.model')])
    expect(empty.exitCode).toBe(2)
    expect(empty.stderr).toContain('Error [EMPTY_TEXT]')
  })

  it('reads the text settings of an upstream config.yaml, resolving the tokenizer beside it', async () => {
    expect(await loadTextConfig({model: ORACLE_TINY})).toEqual({
      tokenizerPath: join(ORACLE_TINY, 'tokenizer.model'),
      tokenizerKind: 'sentencepiece',
      padWithSpaces: false,
      removeSemicolons: false,
      recommendedFramesAfterEos: null,
      frameRate: 12.5,
      nBins: 4000,
      upstream: '2.1.0',
      replaceCharacters: {},
      appendTerminalPunctuation: true,
      capitalizeFirstLetter: true,
    })
    const dir = mkdtempSync(join(tmpdir(), 'pockettts-cfg-'))
    const yaml = readFileSync(join(ORACLE_TINY, 'config.yaml'), 'utf8')
      .replace('tokenizer_path: tokenizer.model', 'tokenizer_path: hf://kyutai/pocket-tts-without-voice-cloning/tokenizer.model@abc')
      .concat('\npad_with_spaces_for_short_inputs: true\nremove_semicolons: true\nmodel_recommended_frames_after_eos: 8\n')
    writeFileSync(join(dir, 'config.yaml'), yaml)
    await expect(loadTextConfig({model: dir})).rejects.toMatchObject({code: 'TOKENIZER_NOT_FOUND'})
    writeFileSync(join(dir, 'tokenizer.model'), readFileSync(join(ORACLE_TINY, 'tokenizer.model')))
    expect(await loadTextConfig({model: join(dir, 'config.yaml')})).toMatchObject({
      tokenizerPath: join(dir, 'tokenizer.model'),
      padWithSpaces: true,
      removeSemicolons: true,
      recommendedFramesAfterEos: 8,
    })
    const run = await runCli(['text', 'a; b', '--model', dir, '--json'])
    expect(JSON.parse(run.stdout)).toMatchObject({prepared: `${' '.repeat(8)}A, b.`, chunks: [{text: 'A, b.', framesAfterEos: 8}]})
    await expect(loadTextConfig({model: join(dir, 'missing')})).rejects.toMatchObject({code: 'MODEL_NOT_FOUND'})
  })
})
