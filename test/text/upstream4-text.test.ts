import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import type {TextCommandResult} from '../../commands/text.js'
import {runCli} from '../helpers/cli.js'
import {isCI} from '../helpers/oracle.js'
import {hasOracle4, ORACLE4, oracle4Family} from '../helpers/oracle4.js'

interface Text4 {
  readonly source: string
  readonly families: Record<
    string,
    Array<{
      text: string
      max_tokens: number
      chunks: Array<{chunk: string; prepared: string; ids: number[]; frames_after_eos: number; max_gen_len: number}>
    }>
  >
}

describe.skipIf(!hasOracle4 && !isCI)('pockettts text --upstream 4.0.1 [needs ../shared/oracle4]', () => {
  it('gives upstream 4.0.1 chunks, prepared chunk texts, ids and frame budgets for every case of text4.json', async () => {
    const text4 = JSON.parse(readFileSync(join(ORACLE4, 'text4.json'), 'utf8')) as Text4
    expect(text4.source).toBe('4.0.1')
    let cases = 0
    for (const [family, list] of Object.entries(text4.families)) {
      const model = oracle4Family(family)
      for (const c of list) {
        cases += 1
        const run = await runCli(['text', c.text, '--model', model, '--upstream', '4.0.1', '--max-tokens', String(c.max_tokens), '--json'])
        const label = `${family} ${JSON.stringify(c.text)}`
        expect(run.exitCode, `${label}: ${run.stderr}`).toBe(0)
        const result = JSON.parse(run.stdout) as TextCommandResult
        expect(result.upstream).toBe('4.0.1')
        expect(
          result.chunks.map((k) => ({
            chunk: k.text,
            prepared: k.prepared,
            ids: k.ids,
            frames_after_eos: k.framesAfterEos,
            max_gen_len: k.maxGenLen,
          })),
          label,
        ).toEqual(c.chunks)
      }
    }
    expect(cases).toBe(24)
  })

  it('reads tokenizer.json with HF tokenizers (t4-lsd) and the 2.1.0 rules still differ where 4.x changed them', async () => {
    const json = await runCli([
      'text',
      'Price: 12.75 euros. Is that right',
      '--model',
      oracle4Family('t4-lsd'),
      '--upstream',
      '4.0.1',
      '--json',
    ])
    expect(json.exitCode, json.stderr).toBe(0)
    const v4 = JSON.parse(json.stdout) as TextCommandResult
    expect(v4.tokenizer).toMatchObject({kind: 'tokenizers', vocabSize: 4000})
    expect(v4.chunks.map((c) => c.text)).toEqual(['Price: 12.75 euros. Is that right.'])
    const old = await runCli([
      'text',
      'Price: 12.75 euros. Is that right',
      '--model',
      oracle4Family('t4-drift'),
      '--upstream',
      '2.1.0',
      '--json',
    ])
    expect(old.exitCode, old.stderr).toBe(0)
    const v2 = JSON.parse(old.stdout) as TextCommandResult
    expect(v2.tokenizer).toMatchObject({kind: 'sentencepiece'})
    // 2.1.0 cuts after the decimal point, and the packed chunk keeps the cut as a space
    expect(v2.chunks.map((c) => c.text)).toEqual(['Price: 12. 75 euros. Is that right.'])
  })
})
