import {mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {encodeSafetensors, parseSafetensors, type SafetensorsTensor} from '../../src/safetensors/index.js'
import {encodeVoiceState, loadVoiceState, writeVoiceState, type KvVoiceState, type VoiceModelDims} from '../../src/voice/index.js'
import {NEEDS_ORACLE, ORACLE_TINY, skipWithoutOracle} from '../helpers/oracle.js'
import {runPythonJson} from '../helpers/python.js'
import {hasOracle4, ORACLE4} from '../helpers/oracle4.js'

const NEEDS_ORACLE4 = '[needs ../shared/oracle4]'

/** The tiny oracle model: flow_lm.transformer d_model 64, 4 heads, 2 layers. */
const TINY: VoiceModelDims = {layers: 2, heads: 4, headDim: 16, dModel: 64}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'pockettts-voice-'))
}

/** Rewrites the oracle voice file with `edit` applied to its tensor map. */
function variant(edit: (tensors: Map<string, SafetensorsTensor>) => void): string {
  const file = parseSafetensors({bytes: readFileSync(join(ORACLE_TINY, 'voice.safetensors')), source: 'voice'})
  const tensors = new Map(file.tensors)
  edit(tensors)
  const path = join(tempDir(), 'variant.safetensors')
  writeFileSync(path, encodeSafetensors({tensors}))
  return path
}

// Upstream's public loader on the written file and on the original; both voices then generate (seeded).
const UPSTREAM_LOAD_PY = `
import json, logging, sys, torch
logging.disable(logging.WARNING)
from pocket_tts import TTSModel
req = json.loads(sys.stdin.read())
m = TTSModel.load_model(config='config.yaml')
a = m.get_state_for_audio_prompt(req['written'])
b = m.get_state_for_audio_prompt('voice.safetensors')
same = a.keys() == b.keys() and all(
    a[k].keys() == b[k].keys() and all(a[k][t].dtype == b[k][t].dtype and torch.equal(a[k][t], b[k][t]) for t in a[k]) for k in a)
torch.manual_seed(3); audio_a = m.generate_audio(a, 'Yes, of course.')
torch.manual_seed(3); audio_b = m.generate_audio(b, 'Yes, of course.')
print(json.dumps({'same_state': same, 'offset': m._flow_lm_current_end(a), 'samples': audio_a.numel(), 'same_audio': torch.equal(audio_a, audio_b)}))
`

describe.skipIf(skipWithoutOracle)(`voice state files ${NEEDS_ORACLE}`, () => {
  it('reads the upstream-exported voice and writes it back byte for byte', async () => {
    const state = await loadVoiceState({path: join(ORACLE_TINY, 'voice.safetensors'), model: TINY})
    expect(state.kind).toBe('kv-state')
    const kv = state as KvVoiceState
    expect({offset: kv.offset, layers: kv.layers.length, length: kv.layers[0]?.length, legacy: kv.legacyCurrentEnd}).toEqual({
      offset: 85,
      layers: 2,
      length: 85,
      legacy: false,
    })
    expect(kv.layers[0]?.cache.length).toBe(2 * 85 * 4 * 16)
    expect(Buffer.from(encodeVoiceState(kv)).equals(readFileSync(join(ORACLE_TINY, 'voice.safetensors')))).toBe(true)
  })

  it('upstream get_state_for_audio_prompt loads a written file (from a legacy current_end voice) as the original', async () => {
    const legacy = variant((t) => {
      for (const i of [0, 1]) {
        t.delete(`transformer.layers.${i}.self_attn/offset`)
        t.set(`transformer.layers.${i}.self_attn/current_end`, {dtype: 'F32', shape: [85], data: new Float32Array(85)})
      }
    })
    const state = (await loadVoiceState({path: legacy, model: TINY})) as KvVoiceState
    expect({offset: state.offset, legacy: state.legacyCurrentEnd}).toEqual({offset: 85, legacy: true})
    const dir = tempDir()
    const written = join(dir, 'written.safetensors')
    await writeVoiceState({path: written, state})
    expect(readdirSync(dir)).toEqual(['written.safetensors'])
    const upstream = await runPythonJson<{same_state: boolean; offset: number; samples: number; same_audio: boolean}>(UPSTREAM_LOAD_PY, {
      input: JSON.stringify({written}),
      cwd: ORACLE_TINY,
    })
    expect(upstream.same_state).toBe(true)
    expect(upstream.offset).toBe(85)
    expect(upstream.samples).toBeGreaterThan(0)
    expect(upstream.same_audio).toBe(true)
  })

  it('names what does not fit the model: layers, heads, head dim (VOICE_MODEL_MISMATCH)', async () => {
    const voice = join(ORACLE_TINY, 'voice.safetensors')
    await expect(loadVoiceState({path: voice, model: {...TINY, layers: 6}})).rejects.toMatchObject({
      code: 'VOICE_MODEL_MISMATCH',
      details: {what: 'layer count', voice: 2, model: 6},
    })
    await expect(loadVoiceState({path: voice, model: {...TINY, heads: 8, headDim: 8}})).rejects.toMatchObject({
      code: 'VOICE_MODEL_MISMATCH',
      details: {what: 'attention heads'},
    })
    await expect(loadVoiceState({path: voice, model: {...TINY, headDim: 32}})).rejects.toMatchObject({
      code: 'VOICE_MODEL_MISMATCH',
      details: {what: 'head dim'},
    })
  })

  it('rejects missing, corrupt and inconsistent files with VOICE_NOT_FOUND / VOICE_FILE_INVALID', async () => {
    await expect(loadVoiceState({path: join(ORACLE_TINY, 'no-such-voice.safetensors'), model: TINY})).rejects.toMatchObject({
      code: 'VOICE_NOT_FOUND',
    })
    await expect(loadVoiceState({path: join(ORACLE_TINY, 'config.yaml'), model: TINY})).rejects.toMatchObject({code: 'VOICE_FILE_INVALID'})
    const cases: [string, (t: Map<string, SafetensorsTensor>) => void][] = [
      ['unknown tensor', (t) => t.set('mimi.something', {dtype: 'F32', shape: [1], data: new Float32Array(1)})],
      ['no offset', (t) => t.delete('transformer.layers.1.self_attn/offset')],
      [
        'offset beyond cache',
        (t) => t.set('transformer.layers.0.self_attn/offset', {dtype: 'I64', shape: [1], data: BigInt64Array.of(86n)}),
      ],
      ['layers disagree', (t) => t.set('transformer.layers.1.self_attn/offset', {dtype: 'I64', shape: [1], data: BigInt64Array.of(84n)})],
      [
        'gap in layer numbers',
        (t) => {
          for (const k of ['cache', 'offset']) {
            t.set(`transformer.layers.2.self_attn/${k}`, t.get(`transformer.layers.1.self_attn/${k}`)!)
            t.delete(`transformer.layers.1.self_attn/${k}`)
          }
        },
      ],
      [
        'NaN in the filled region',
        (t) => {
          const cache = t.get('transformer.layers.0.self_attn/cache')!
          const data = Float32Array.from(cache.data as Float32Array)
          data[100] = Number.NaN
          t.set('transformer.layers.0.self_attn/cache', {dtype: 'F32', shape: cache.shape, data})
        },
      ],
    ]
    for (const [label, edit] of cases) {
      await expect(loadVoiceState({path: variant(edit), model: TINY}), label).rejects.toMatchObject({code: 'VOICE_FILE_INVALID'})
    }
  })
})

describe('legacy audio_prompt voices', () => {
  it('are returned as conditioning that needs a prefill, checked against d_model', async () => {
    const path = join(tempDir(), 'prompt.safetensors')
    const conditioning = Float32Array.from({length: 3 * 64}, (_, i) => i / 100)
    writeFileSync(path, encodeSafetensors({tensors: {audio_prompt: {dtype: 'F32', shape: [1, 3, 64], data: conditioning}}}))
    const state = await loadVoiceState({path, model: TINY})
    expect(state).toMatchObject({kind: 'audio-prompt', frames: 3, dModel: 64})
    expect(Array.from(state.kind === 'audio-prompt' ? state.conditioning : [])).toEqual(Array.from(conditioning))
    await expect(loadVoiceState({path, model: {...TINY, dModel: 1024}})).rejects.toMatchObject({code: 'VOICE_MODEL_MISMATCH'})
    const bf16 = join(tempDir(), 'prompt-bf16.safetensors')
    writeFileSync(
      bf16,
      encodeSafetensors({tensors: {audio_prompt: {dtype: 'BF16', shape: [1, 1, 2], data: Uint16Array.of(0x3f80, 0xc020)}}}),
    )
    const half = await loadVoiceState({path: bf16, model: {...TINY, dModel: 2}})
    expect(half.kind === 'audio-prompt' ? Array.from(half.conditioning) : []).toEqual([1, -2.5])
  })
})

describe.skipIf(!hasOracle4 && process.env['CI'] !== 'true')(`4.x voice files: pad keys and KV heads ${NEEDS_ORACLE4}`, () => {
  // t4-drift: 2 layers, 4 query heads but 2 KV heads of width 8 (attn_dim 32); t4-point: one KV head
  const FAMILIES: readonly [string, VoiceModelDims][] = [
    ['t4-drift', {layers: 2, heads: 2, headDim: 8, dModel: 32}],
    ['t4-point', {layers: 2, heads: 1, headDim: 8, dModel: 32}],
    ['t4-lsd', {layers: 2, heads: 4, headDim: 16, dModel: 64}],
  ]
  it.each(FAMILIES)(
    '%s: upstream 4.0.1 voice.safetensors loads, and written back with pad keys holds the same tensors',
    async (family, dims) => {
      const path = join(ORACLE4, family, 'voice.safetensors')
      const state = await loadVoiceState({path, model: dims})
      expect(state.kind).toBe('kv-state')
      if (state.kind !== 'kv-state') return
      expect(state.heads).toBe(dims.heads)
      const original = parseSafetensors({bytes: readFileSync(path), source: path}).tensors
      const written = parseSafetensors({bytes: encodeVoiceState(state, true), source: 'written'}).tensors
      expect([...written.keys()].sort()).toEqual([...original.keys()].sort())
      for (const [name, tensor] of original) {
        const mine = written.get(name)!
        expect(mine.dtype, name).toBe(tensor.dtype)
        expect(mine.shape, name).toEqual(tensor.shape)
        expect(Array.from(mine.data as ArrayLike<unknown>), name).toEqual(Array.from(tensor.data as ArrayLike<unknown>))
      }
    },
  )

  it('refuses a 4.x voice against the query-head count, and a padded batch row', async () => {
    const path = join(ORACLE4, 't4-drift', 'voice.safetensors')
    await expect(loadVoiceState({path, model: {layers: 2, heads: 4, headDim: 8, dModel: 32}})).rejects.toMatchObject({
      code: 'VOICE_MODEL_MISMATCH',
      message: expect.stringMatching(/attention heads is 2, the model's is 4/),
    })
    const file = parseSafetensors({bytes: readFileSync(path), source: 'voice'})
    const tensors = new Map(file.tensors)
    tensors.set('transformer.layers.0.self_attn/pad', {dtype: 'I64', shape: [1], data: BigInt64Array.of(3n)})
    const padded = join(tempDir(), 'padded.safetensors')
    writeFileSync(padded, encodeSafetensors({tensors}))
    await expect(loadVoiceState({path: padded, model: {layers: 2, heads: 2, headDim: 8, dModel: 32}})).rejects.toMatchObject({
      code: 'VOICE_FILE_INVALID',
      message: expect.stringMatching(/pad is 3: a padded batch row/),
    })
  })
})
