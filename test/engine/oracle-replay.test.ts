import {readdirSync} from 'node:fs'
import {mkdtemp} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'
import {loadEngineModel, type EngineModel} from '../../src/engine/engine-model.js'
import {exportVoiceNative} from '../../src/engine/export-voice-native.js'
import {generateAudio} from '../../src/engine/generate-audio.js'
import {defaultGenerationParams} from '../../src/engine/generation-params.js'
import {ReplayNoise} from '../helpers/replay-noise.js'
import {resolveVoice} from '../../src/engine/resolve-voice.js'
import {readGolden} from '../../src/golden/index.js'
import {readSafetensors} from '../../src/safetensors/index.js'
import {embeddedFixtureDir, embeddedModelDir, goldenDir} from '../../src/config/project-paths.js'
import {NEEDS_ORACLE, ORACLE_TINY, skipWithoutOracle} from '../helpers/oracle.js'

const GOLDEN = join(ORACLE_TINY, 'golden')
const cases = skipWithoutOracle ? [] : readdirSync(GOLDEN).filter((name) => name !== 'voice')
const projectCases = readdirSync(goldenDir(), {withFileTypes: true})
  .filter((e) => e.isDirectory() && e.name !== 'voice')
  .map((e) => e.name)

function maxAbs(a: Float32Array, b: ArrayLike<number>): number {
  let max = 0
  for (let i = 0; i < a.length; i += 1) max = Math.max(max, Math.abs((a[i] ?? 0) - Number(b[i])))
  return max
}

describe.skipIf(skipWithoutOracle)(`the engine replays upstream's golden runs ${NEEDS_ORACLE}`, () => {
  let model: EngineModel
  beforeAll(async () => {
    model = await loadEngineModel({dir: inject('oracleOnnx'), threads: 1})
  })
  afterAll(async () => model?.release())

  it('has a case for each golden synthesis folder', () => {
    expect(cases).toEqual(expect.arrayContaining(['hello', 'long', 'lsd4', 'short', 'temp0']))
  })

  it.each(cases)('%s: tokens, chunk texts, eos_step, steps, frames exactly; audio within 1e-3', async (name) => {
    await replayCase(model, ORACLE_TINY, join(GOLDEN, name))
  })

  it('native voice export of voice_prompt.wav reproduces upstream voice.safetensors within 1e-3', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'pockettts-voice-')), 'voice.safetensors')
    const result = await exportVoiceNative({model, prompt: join(ORACLE_TINY, 'voice_prompt.wav'), out})
    expect(result.positions).toBe(85)
    const mine = await readSafetensors({path: out})
    const theirs = await readSafetensors({path: join(ORACLE_TINY, 'voice.safetensors')})
    expect([...mine.tensors.keys()].sort()).toEqual([...theirs.tensors.keys()].sort())
    for (const [key, tensor] of theirs.tensors) {
      const other = mine.tensors.get(key)!
      expect(other.shape).toEqual(tensor.shape)
      expect(other.dtype).toBe(tensor.dtype)
      if (tensor.dtype === 'I64') expect(Array.from(other.data as BigInt64Array)).toEqual(Array.from(tensor.data as BigInt64Array))
      else expect(maxAbs(other.data as Float32Array, tensor.data as Float32Array)).toBeLessThanOrEqual(1e-3)
    }
  })
})

describe('the engine replays the project goldens of the embedded fixture (golden/, fixtures/tiny-onnx)', () => {
  let model: EngineModel
  beforeAll(async () => {
    model = await loadEngineModel({dir: embeddedModelDir(), threads: 1})
  })
  afterAll(async () => model?.release())

  it('has the project cases', () => {
    expect(projectCases).toEqual(expect.arrayContaining(['hello', 'long', 'lsd4', 'short', 'temp0']))
  })

  it.each(projectCases)('%s: tokens, chunk texts, eos_step, steps, frames exactly; audio within 1e-3', async (name) => {
    await replayCase(model, embeddedFixtureDir(), join(goldenDir(), name))
  })
})

async function replayCase(model: EngineModel, modelDir: string, caseDir: string): Promise<void> {
  const golden = await readGolden({dir: caseDir})
  const c = golden.manifest.case
  const noise = await ReplayNoise.fromGolden({golden})
  const voice = await resolveVoice({model, voice: join(modelDir, String(c.voice)), noise})
  const params = {
    ...defaultGenerationParams,
    temperature: Number(c.temperature),
    lsdDecodeSteps: Number(c.lsd_decode_steps),
    noiseClamp: c.noise_clamp === null ? null : Number(c.noise_clamp),
    eosThreshold: Number(c.eos_threshold),
  }
  const seen: {text: string; ids: readonly number[]; eos: number | null; steps: number; frames: number}[] = []
  const frames: Float32Array[] = []
  for await (const frame of generateAudio({
    model,
    voice: voice.kv,
    text: String(c.text),
    params,
    noise,
    taps: {
      chunkStart: (i) => seen.push({text: i.text, ids: i.ids, eos: null, steps: 0, frames: 0}),
      chunkEnd: (i) => Object.assign(seen[i.chunk]!, {eos: i.eosStep, steps: i.steps, frames: i.frames}),
    },
  })) {
    frames.push(frame.audio)
  }
  expect(seen.length).toBe(golden.manifest.chunks.length)
  for (const [index, chunk] of golden.manifest.chunks.entries()) {
    const tokens = await golden.tensor(`chunk${index}.tokens`)
    expect(seen[index]!.text).toBe(chunk.text)
    expect(seen[index]!.ids).toEqual(Array.from(tokens.data as BigInt64Array, Number))
    expect({eos: seen[index]!.eos, steps: seen[index]!.steps, frames: seen[index]!.frames}).toEqual({
      eos: chunk.eos_step,
      steps: chunk.steps,
      frames: chunk.frames,
    })
  }
  const audio = new Float32Array(frames.length * 1920)
  frames.forEach((f, i) => audio.set(f, i * 1920))
  const expected = await golden.tensor('audio')
  expect(audio.length).toBe(expected.data.length)
  expect(maxAbs(audio, expected.data as Float32Array)).toBeLessThanOrEqual(1e-3)
}
