import {mkdtemp, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {readCorpus, seedFromId, type CorpusDefaults} from '../../src/batch/index.js'
import {defaultGenerationParams} from '../../src/engine/generation-params.js'
import {UsageError} from '../../src/errors/index.js'

const defaults: CorpusDefaults = {params: defaultGenerationParams, format: 'wav16', trailingSilence: 0.2, maxTextChars: 100}

async function corpusFile(text: string): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'pockettts-corpus-')), 'corpus.jsonl')
  await writeFile(path, text)
  return path
}

describe('readCorpus', () => {
  it('applies the defaults, lets a line override them, and derives a stable seed from the id when none is given', async () => {
    const path = await corpusFile(
      '{"id": "a", "text": "One."}\r\n\n{"id": "b", "text": "Two.", "seed": 3, "maxTokens": 20, "format": "pcm16", "voice": "x.wav"}\n',
    )
    const items = await readCorpus({path, defaults: {...defaults, voice: 'alba'}})
    expect(items).toHaveLength(2)
    expect(items[0]).toMatchObject({id: 'a', line: 1, file: 'a.wav', voice: 'alba', seed: seedFromId('a'), format: 'wav16'})
    expect(items[1]).toMatchObject({id: 'b', line: 3, file: 'b.pcm', voice: 'x.wav', seed: 3, format: 'pcm16', params: {maxTokens: 20}})
    expect(seedFromId('a')).toBe(seedFromId('a'))
    expect(seedFromId('a')).not.toBe(seedFromId('b'))
  })

  it('lists every bad line in details.problems; the error names the first', async () => {
    const path = await corpusFile(
      ['{"id": "ok", "text": "Fine."}', 'nope', '{"id": "ok", "text": "Again."}', `{"id": "long", "text": "${'x'.repeat(101)}"}`].join(
        '\n',
      ),
    )
    const error = await readCorpus({path, defaults}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UsageError)
    const usage = error as UsageError
    expect(usage.code).toBe('CORPUS_INVALID_JSON')
    expect(usage.message).toContain('line 2')
    expect(usage.message).toContain('and 2 more problem(s): lines 3, 4')
    expect((usage.details['problems'] as {line: number; code: string}[]).map((p) => [p.line, p.code])).toEqual([
      [2, 'CORPUS_INVALID_JSON'],
      [3, 'CORPUS_DUPLICATE_ID'],
      [4, 'CORPUS_INVALID_FIELD'],
    ])
  })

  it('a missing corpus file is CORPUS_NOT_FOUND', async () => {
    await expect(readCorpus({path: join(tmpdir(), 'no-such-corpus.jsonl'), defaults})).rejects.toMatchObject({code: 'CORPUS_NOT_FOUND'})
  })
})
