import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'
import {loadEngineModel, type EngineModel} from '../../src/engine/engine-model.js'
import {generateAudio} from '../../src/engine/generate-audio.js'
import {defaultGenerationParams, type GenerationParams} from '../../src/engine/generation-params.js'
import {SeededNormalNoise, type NoiseSource} from '../../src/engine/noise/index.js'
import {ReplayNoise} from '../helpers/replay-noise.js'
import {resolveVoice} from '../../src/engine/resolve-voice.js'
import {readGolden} from '../../src/golden/index.js'
import {MimiDecoderStream} from '../../src/mimi/mimi-decoder-stream.js'
import {NEEDS_ORACLE, ORACLE_TINY, skipWithoutOracle} from '../helpers/oracle.js'

interface Run {
  readonly audio: Float32Array[]
  readonly chunks: {eos: number | null; steps: number; frames: number}[]
  readonly frameTaps: number
}

async function run(model: EngineModel, text: string, params: GenerationParams, noise: NoiseSource, voicePath?: string): Promise<Run> {
  const voice = await resolveVoice({model, ...(voicePath === undefined ? {} : {voice: voicePath}), noise})
  const audio: Float32Array[] = []
  const chunks: Run['chunks'] = []
  let frameTaps = 0
  for await (const frame of generateAudio({
    model,
    voice: voice.kv,
    text,
    params,
    noise,
    taps: {frame: () => (frameTaps += 1), chunkEnd: (i) => chunks.push({eos: i.eosStep, steps: i.steps, frames: i.frames})},
  })) {
    audio.push(frame.audio)
  }
  return {audio, chunks, frameTaps}
}

function maxAbsDiff(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let max = 0
  a.forEach((frame, i) => frame.forEach((v, j) => (max = Math.max(max, Math.abs(v - (b[i]?.[j] ?? Number.NaN))))))
  return max
}

describe.skipIf(skipWithoutOracle)(`Mimi decoded on a worker thread, overlapped with the FlowLM steps ${NEEDS_ORACLE}`, () => {
  let inline: EngineModel
  let worker: EngineModel
  beforeAll(async () => {
    ;[inline, worker] = await Promise.all([
      loadEngineModel({dir: inject('oracleOnnx'), threads: 1}),
      loadEngineModel({dir: inject('oracleOnnx'), threads: 1, mimiWorker: true}),
    ])
  })
  afterAll(async () => {
    await inline?.release()
    await worker?.release()
  })

  it('replays the multi-chunk golden case exactly as the inline decoder does (same frames, same audio)', async () => {
    const golden = await readGolden({dir: join(ORACLE_TINY, 'golden', 'long')})
    const c = golden.manifest.case
    const params = {
      ...defaultGenerationParams,
      temperature: Number(c.temperature),
      lsdDecodeSteps: Number(c.lsd_decode_steps),
      eosThreshold: Number(c.eos_threshold),
    }
    const voice = join(ORACLE_TINY, String(c.voice))
    const a = await run(inline, String(c.text), params, await ReplayNoise.fromGolden({golden}), voice)
    const b = await run(worker, String(c.text), params, await ReplayNoise.fromGolden({golden}), voice)
    expect(b.chunks).toEqual(golden.manifest.chunks.map((k) => ({eos: k.eos_step, steps: k.steps, frames: k.frames})))
    expect(b.chunks).toEqual(a.chunks)
    expect(b.audio.length).toBe(a.audio.length)
    expect(b.frameTaps).toBe(b.audio.length)
    expect(maxAbsDiff(b.audio, a.audio)).toBeLessThanOrEqual(1e-6)
  })

  it('fixedFrames ignores EOS and makes exactly that many frames per chunk', async () => {
    const params = {...defaultGenerationParams, fixedFrames: 7}
    const b = await run(
      worker,
      'Hello world. This is a second sentence that is long enough to be split off.',
      {...params, maxTokens: 8},
      new SeededNormalNoise({seed: 3, temperature: 0.7}),
    )
    expect(b.chunks.length).toBeGreaterThan(1)
    for (const chunk of b.chunks) expect({steps: chunk.steps, frames: chunk.frames}).toEqual({steps: 7, frames: 7})
    expect(b.audio.length).toBe(7 * b.chunks.length)
  })

  it('decodes several frames in one call exactly as one by one (what the worker does with frames that wait)', async () => {
    const make = () =>
      new MimiDecoderStream({
        latentToMimi: inline.sessions.latent_to_mimi,
        decoder: inline.sessions.mimi_decoder,
        states: inline.mimiStates,
        mimiInputDim: inline.dims.mimiInputDim,
        latentDim: inline.dims.latentDim,
      })
    // 1 + 2 + 8 + 2: the small decoders' groups (SMALL_MIMI_WORKER_GROUP) against one frame a call
    const latents = Array.from({length: 13}, (_, k) => Float32Array.from({length: inline.dims.latentDim}, (_, j) => Math.sin(k * 7 + j)))
    const single = make()
    const one: Float32Array[] = []
    for (const latent of latents) one.push((await single.decodeLatent(latent)).audio)
    const batched = make()
    const frames = []
    for (const [from, to] of [
      [0, 1],
      [1, 3],
      [3, 11],
      [11, 13],
    ] as const)
      frames.push(...(await batched.decodeLatents(latents.slice(from, to))))
    expect(frames.map((f) => f.audio.length)).toEqual(one.map((a) => a.length))
    expect(
      maxAbsDiff(
        frames.map((f) => f.audio),
        one,
      ),
    ).toBeLessThanOrEqual(1e-6)
    expect(frames[12]?.mimiInput.length).toBe(inline.dims.mimiInputDim)
  })

  it("marks a stream's first call since its open or reset, and decodes each stream from its own state", async () => {
    const mimi = worker.mimiWorker
    if (mimi === undefined) throw new Error('the worker model has no Mimi worker')
    const latents = Array.from({length: 5}, (_, k) => Float32Array.from({length: worker.dims.latentDim}, (_, j) => Math.cos(k * 5 + j)))
    const busy = mimi.openStream()
    const late = mimi.openStream()
    try {
      // one stream's calls waiting, then a second stream's first call (served ahead of them: nextRequestIndex)
      const a = [
        ...busy.decodeLatents(latents.slice(0, 1)),
        ...busy.decodeLatents(latents.slice(1, 3)),
        ...busy.decodeLatents(latents.slice(3, 5)),
      ]
      const z = late.decodeLatents(latents.slice(0, 1))
      const [first, ...rest] = await Promise.all([...a, ...z])
      expect(rest.length).toBe(5)
      // each stream from its own state: the late stream's first frame is the busy stream's first frame
      expect(maxAbsDiff([rest[4]?.audio as Float32Array], [first?.audio as Float32Array])).toBeLessThanOrEqual(1e-6)
      late.reset()
      const again = await Promise.all(late.decodeLatents(latents.slice(0, 1)))
      expect(maxAbsDiff([again[0]?.audio as Float32Array], [first?.audio as Float32Array])).toBeLessThanOrEqual(1e-6)
    } finally {
      busy.close()
      late.close()
    }
  })

  it('keeps the Mimi sessions off the main thread and says so when they are asked for', () => {
    expect(() => worker.sessions.mimi_decoder).toThrow(expect.objectContaining({code: 'MIMI_IN_WORKER'}))
    expect(worker.sessions.flow_lm_main.inputNames).toContain('past_k.0')
  })

  it('stops cleanly when the consumer stops early, and the worker serves the next generation', async () => {
    const noise = new SeededNormalNoise({seed: 5, temperature: 0.7})
    const voice = await resolveVoice({model: worker, noise})
    let taken = 0
    for await (const _frame of generateAudio({
      model: worker,
      voice: voice.kv,
      text: 'Hello there.',
      params: {...defaultGenerationParams, fixedFrames: 10},
      noise,
    })) {
      taken += 1
      if (taken === 2) break
    }
    expect(taken).toBe(2)
    const again = await run(
      worker,
      'Hello there.',
      {...defaultGenerationParams, fixedFrames: 4},
      new SeededNormalNoise({seed: 5, temperature: 0.7}),
    )
    expect(again.audio.length).toBe(4)
  })
})
