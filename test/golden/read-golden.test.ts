import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {readGolden} from '../../src/golden/index.js'
import {loadSentencePieceTokenizer, prepareChunks} from '../../src/text/index.js'
import {NEEDS_ORACLE, ORACLE_TINY, skipWithoutOracle} from '../helpers/oracle.js'

describe.skipIf(skipWithoutOracle)(`readGolden ${NEEDS_ORACLE}`, () => {
  it('reads the manifest and typed tensors; the recorded tokens are the text front-end ids', async () => {
    const golden = await readGolden({dir: join(ORACLE_TINY, 'golden', 'hello')})
    expect(golden.manifest.format).toBe('pockettts-golden/1')
    expect(golden.manifest.chunks?.[0]).toMatchObject({n_tokens: 16, eos_step: 47, frames: 50})
    const tokens = await golden.tensor('chunk0.tokens')
    expect({dtype: tokens.dtype, shape: tokens.shape}).toEqual({dtype: 'int64', shape: [16]})
    const tokenizer = await loadSentencePieceTokenizer({path: join(ORACLE_TINY, 'tokenizer.model')})
    const config = {padWithSpaces: false, removeSemicolons: false, recommendedFramesAfterEos: null, frameRate: 12.5, nBins: 4000}
    const ids = (await prepareChunks({tokenizer, text: golden.manifest.case!.text, config})).chunks[0]!.ids
    expect(Array.from(tokens.data as BigInt64Array, Number)).toEqual(ids)
    const latent = await golden.tensor('chunk0.latent')
    expect(latent.data).toBeInstanceOf(Float32Array)
    expect(latent.shape).toEqual([51, 32])
    expect(golden.unknownTensors(['audio', /^chunk\d+\.(tokens|noise|prefill_noise|latent)$/])).toEqual(
      expect.arrayContaining(['chunk0.hidden', 'chunk0.layer_out', 'chunk0.mimi_input']),
    )
    expect(golden.unknownTensors(['audio', /^chunk\d+\./])).toEqual([])
  })

  it('names missing tensors and refuses folders that are not golden cases', async () => {
    const golden = await readGolden({dir: join(ORACLE_TINY, 'golden', 'voice')})
    expect(golden.manifest.kind).toBe('voice')
    await expect(golden.tensor('chunk0.noise')).rejects.toMatchObject({code: 'GOLDEN_TENSOR_MISSING', details: {missing: ['chunk0.noise']}})
    expect(() => golden.requireTensors(['audio', 'mimi_latent', 'x.y'])).toThrow(expect.objectContaining({message: expect.stringContaining('x.y')}))
    await expect(readGolden({dir: ORACLE_TINY})).rejects.toMatchObject({code: 'GOLDEN_NOT_FOUND'})
    const dir = mkdtempSync(join(tmpdir(), 'pockettts-golden-'))
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({format: 'other/1', tensors: {}}))
    await expect(readGolden({dir})).rejects.toMatchObject({code: 'GOLDEN_INVALID'})
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({format: 'pockettts-golden/1', tensors: {a: {file: 'a.npy', dtype: 'float32', shape: [2]}}}))
    writeFileSync(join(dir, 'a.npy'), 'not numpy')
    await expect((await readGolden({dir})).tensor('a')).rejects.toMatchObject({code: 'GOLDEN_INVALID'})
  })
})
