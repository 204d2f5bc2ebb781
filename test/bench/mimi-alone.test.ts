import {describe, expect, it} from 'vitest'
import {runMimiAlone} from '../../src/bench/index.js'
import {embeddedModelDir} from '../../src/config/index.js'
import {loadEngineModel} from '../../src/engine/engine-model.js'
import {
  MIMI_GROUP_RAMP,
  MIMI_WORKER_GROUP,
  SMALL_MIMI_MAX_DIM,
  SMALL_MIMI_WORKER_GROUP,
  mimiCallFrames,
} from '../../src/engine/mimi-grouping.js'

describe('the Mimi decoder timed alone (embedded model: plumbing only, no timing claims)', () => {
  it('decodes the frames in the engine grouping, the first frame alone, and times each run', async () => {
    const dir = embeddedModelDir()
    const model = await loadEngineModel({dir})
    let times
    try {
      times = await runMimiAlone({
        dir,
        files: {latent_to_mimi: 'latent_to_mimi.onnx', mimi_decoder: 'mimi_decoder.onnx'},
        states: model.mimiStates,
        dims: model.dims,
        threads: 1,
        frames: 20,
        callFrames: (call) => mimiCallFrames(call, 16, model.dims.mimiInputDim),
        runs: 2,
        warmup: 0,
      })
    } finally {
      await model.release()
    }
    expect(model.dims.mimiInputDim).toBeLessThanOrEqual(SMALL_MIMI_MAX_DIM) // the tiny fixture's decoder is a small one
    expect(times.calls).toEqual([1, 2, 8, 8, 1]) // 20 frames: the ramp, then 8 per call, the rest last
    expect(times.calls.reduce((a, b) => a + b)).toBe(20)
    expect(times.msPerFrame.n).toBe(2)
    expect(times.firstCallMs.n).toBe(2)
    expect(times.msPerFrame.median).toBeGreaterThan(0)
    expect(times.matmulGflops.n).toBe(6) // 3 matmul calls timed after each measured run
    expect(times.matmulGflops.median).toBeGreaterThan(0)
  })

  it('groups calls as the ramp says, then by the decoder size, never beyond what the export takes', () => {
    expect(MIMI_GROUP_RAMP[0]).toBe(1) // the first frame alone: time to first audio, whatever the family
    const full = 512 // the full-size decoder (2.1.0, english_2026-10)
    const small = 128 // the 4.x english_2m/7m/18m decoders
    expect([0, 1, 2, 3].map((c) => mimiCallFrames(c, 16, full))).toEqual(
      [...MIMI_GROUP_RAMP, MIMI_WORKER_GROUP, MIMI_WORKER_GROUP].slice(0, 4),
    )
    expect([0, 1, 2, 3].map((c) => mimiCallFrames(c, 16, small))).toEqual(
      [...MIMI_GROUP_RAMP, SMALL_MIMI_WORKER_GROUP, SMALL_MIMI_WORKER_GROUP].slice(0, 4),
    )
    expect(SMALL_MIMI_WORKER_GROUP).toBeGreaterThan(MIMI_WORKER_GROUP)
    expect([0, 1, 2].map((c) => mimiCallFrames(c, 1, small))).toEqual([1, 1, 1]) // a one-frame export
    expect(mimiCallFrames(2, 6, small)).toBe(6) // capped at what the export takes
  })
})
