import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {embeddedModelDir} from '../../src/config/index.js'
import {loadEngineModel, type EngineModel} from '../../src/engine/engine-model.js'
import {generateAudio} from '../../src/engine/generate-audio.js'
import {defaultGenerationParams, type GenerationParams} from '../../src/engine/generation-params.js'
import {SeededNormalNoise} from '../../src/engine/noise/index.js'
import {openFlowLmBatcher} from '../../src/engine/open-batcher.js'
import {resolveVoice} from '../../src/engine/resolve-voice.js'
import type {FlowLmBatcher} from '../../src/flowlm/flow-lm-batcher.js'
import {DEFAULT_TOLERANCES} from '../../src/parity/default-tolerances.js'

interface Job {
  readonly text: string
  readonly seed: number
  readonly params: GenerationParams
}

// Fixed frame counts: the embedded model has random weights, so its EOS logit sits anywhere; exact lengths keep
// the comparison frame for frame. The second text makes two chunks (maxTokens 8): that stream leaves the batch
// after its first chunk and joins again after its second prefill.
const JOBS: readonly Job[] = [
  {text: 'The first stream starts alone.', seed: 11, params: {...defaultGenerationParams, fixedFrames: 14}},
  {
    text: 'The second stream joins later, and speaks in two chunks because its text is long enough for that here.',
    seed: 22,
    params: {...defaultGenerationParams, fixedFrames: 9, maxTokens: 8, lsdDecodeSteps: 2},
  },
  {text: 'The third joins last.', seed: 33, params: {...defaultGenerationParams, fixedFrames: 12, temperature: 0.5}},
]

/** Starts job j+1 once job j has yielded this many frames: the streams join the batch at different steps. */
const JOIN_AFTER_FRAMES = 3

/**
 * Starts another stream and holds this one (its consumer waits, so its generator asks for no step) until the new
 * one has joined the batch: then the new stream's first row shares a call with this one's next step on any machine,
 * however fast its voice and text front end run.
 */
async function startAndWaitForJoin(batcher: FlowLmBatcher, start: () => void): Promise<void> {
  const before = batcher.stats.joins
  start()
  while (batcher.stats.joins === before) await new Promise((resolve) => setImmediate(resolve))
}

interface Run {
  /** Each frame's audio. */
  readonly audio: Float32Array[]
  /** Each frame's Mimi input (the latent through latent_to_mimi): where a FlowLM fault shows before Mimi smooths it. */
  readonly mimiInput: Float32Array[]
}

async function run(
  model: EngineModel,
  job: Job,
  batcher?: FlowLmBatcher,
  onFrame?: (frame: number) => Promise<void> | void,
  voicePath?: string,
): Promise<Run> {
  const noise = new SeededNormalNoise({seed: job.seed, temperature: job.params.temperature, clamp: job.params.noiseClamp})
  const voice = await resolveVoice({model, noise, ...(voicePath === undefined ? {} : {voice: voicePath})})
  const frames: Float32Array[] = []
  const mimiInput: Float32Array[] = []
  for await (const frame of generateAudio({
    model,
    voice: voice.kv,
    text: job.text,
    params: job.params,
    noise,
    taps: {frame: (info) => mimiInput.push(Float32Array.from(info.mimiInput))},
    ...(batcher === undefined ? {} : {batcher}),
  })) {
    frames.push(frame.audio)
    await onFrame?.(frames.length)
  }
  return {audio: frames, mimiInput}
}

/** The largest |a - b| / (atol + rtol |b|): at most 1 when every element is within the tolerance. */
function worstRatio(a: readonly Float32Array[], b: readonly Float32Array[], tolerance: {atol: number | null; rtol: number}): number {
  let worst = 0
  const atol = tolerance.atol ?? 0
  a.forEach((frame, i) =>
    frame.forEach((v, j) => {
      const expected = b[i]?.[j] ?? Number.NaN
      worst = Math.max(worst, Math.abs(v - expected) / (atol + tolerance.rtol * Math.abs(expected)))
    }),
  )
  return worst
}

/** Every stream's audio (and Mimi input) equals its solo run's within the parity tolerances. */
function expectSoloAudio(batched: readonly Run[], solo: readonly Run[]): void {
  solo.forEach((theirs, i) => {
    const mine = batched[i] as Run
    expect(mine.audio.length, `stream ${i} frames`).toBe(theirs.audio.length)
    expect(
      worstRatio(mine.mimiInput, theirs.mimiInput, DEFAULT_TOLERANCES.mimi_input),
      `stream ${i} Mimi input vs solo`,
    ).toBeLessThanOrEqual(1)
    expect(worstRatio(mine.audio, theirs.audio, DEFAULT_TOLERANCES.audio), `stream ${i} audio vs solo`).toBeLessThanOrEqual(1)
  })
}

describe('batched FlowLM calls (serve): streams that start at different steps share FlowLM calls', () => {
  let model: EngineModel
  let batcher: FlowLmBatcher
  beforeAll(async () => {
    model = await loadEngineModel({dir: embeddedModelDir(), threads: 1})
    // a step waits for every stream in the batch (no time limit in practice): which streams share a call then
    // depends only on when they join and leave, not on how fast this machine is
    const opened = await openFlowLmBatcher({model, waitMs: 600_000})
    if (opened === null) throw new Error(`the embedded model ${embeddedModelDir()} has no batched graphs: re-export it`)
    batcher = opened
  })
  afterAll(async () => {
    await batcher?.release()
    await model?.release()
  })

  it('gives each stream the audio of its solo run, within the parity tolerance of audio, in fewer FlowLM calls than steps', async () => {
    const solo: Run[] = []
    for (const job of JOBS) solo.push(await run(model, job))

    const runs: Promise<Run>[] = []
    const start = (index: number): void => {
      const job = JOBS[index]
      if (job === undefined) return
      let started = false
      runs[index] = run(model, job, batcher, async (frame) => {
        if (!started && frame >= JOIN_AFTER_FRAMES && index + 1 < JOBS.length) {
          started = true
          await startAndWaitForJoin(batcher, () => start(index + 1))
        }
      })
    }
    start(0)
    // runs grows while the streams run: wait until every job has started and finished
    while (runs.length < JOBS.length || runs.some((r) => r === undefined)) await Promise.all(runs.filter((r) => r !== undefined))
    const batched = await Promise.all(runs)

    expectSoloAudio(batched, solo)
    expect(batcher.size).toBe(0) // every stream left
    // every step is a row, each chunk's first with its text prefill: 14 + (9 + 9) + 12 rows, 4 of them prefills
    expect(batcher.stats.rows).toBe(14 + 18 + 12)
    expect(batcher.stats.prefillRows).toBe(4)
    // the later streams' prefills joined the running batch: rows of a call with the others' steps
    expect(batcher.stats.sharedPrefillCalls).toBeGreaterThanOrEqual(2)
    expect(batcher.stats.joins).toBe(4)
    expect(batcher.stats.calls).toBeLessThan(batcher.stats.rows)
    expect(batcher.stats.maxRows).toBe(3)
  })

  it('a call of every stream in the batch runs without exchanging cache rows, whatever order the streams asked in', async () => {
    const noise = new SeededNormalNoise({seed: 5, temperature: 0.7})
    const voice = await resolveVoice({model, noise})
    const [a, b] = [batcher.join(voice.kv), batcher.join(voice.kv)] as const
    try {
      const swaps = batcher.stats.rowSwaps
      const step = () => ({latent: null, noise: noise.next(model.dims.latentDim), lsdSteps: 1})
      // the second stream asks first: its row is the second, the call takes both rows in place
      const calls = batcher.stats.calls
      await Promise.all([b.step(step()), a.step(step())])
      expect(batcher.stats.calls).toBe(calls + 1)
      expect(batcher.stats.rowSwaps).toBe(swaps)
    } finally {
      a.leave()
      b.leave()
    }
  })

  it('a model loaded for batching (no solo FlowLM graph) prefills a voice prompt and generates the solo audio, prefills joining a running batch', async () => {
    const batching = await loadEngineModel({dir: embeddedModelDir(), threads: 1, batching: true})
    try {
      expect(batching.batcher, 'the embedded export has batched graphs').toBeDefined()
      expect(() => batching.sessions.flow_lm_main).toThrow(/loaded for batching/)
      const prompt = join(embeddedModelDir(), 'voice_prompt.wav')
      const solo: Run[] = []
      for (const job of JOBS) solo.push(await run(model, job, undefined, undefined, prompt))
      // the second stream's voice prefill and text prefill are rows of the first stream's running batch
      let second: Promise<Run> | undefined
      const rows = batching.batcher as FlowLmBatcher
      const first = run(
        batching,
        JOBS[0] as Job,
        undefined,
        async (frame) => {
          if (frame === JOIN_AFTER_FRAMES)
            await startAndWaitForJoin(rows, () => (second = run(batching, JOBS[1] as Job, undefined, undefined, prompt)))
        },
        prompt,
      )
      const batched = [await first]
      batched.push(await (second as Promise<Run>))
      expectSoloAudio(batched, solo.slice(0, 2))
      const stats = rows.stats
      expect(stats.prefillRows).toBe(2 + 3) // two voice prefills, three text prefills (the second text has two chunks)
      expect(stats.maxRows).toBe(2)
    } finally {
      await batching.release()
    }
  })
})
