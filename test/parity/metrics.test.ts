import {describe, expect, it} from 'vitest'
import {CheckRecorder} from '../../src/parity/check-recorder.js'
import {loadTolerances} from '../../src/parity/load-tolerances.js'
import {PARITY_STAGES} from '../../src/parity/parity-stages.js'
import {summarizeRun} from '../../src/parity/summarize-run.js'
import {tensorMetrics} from '../../src/tensor/index.js'

const GRAPH = {atol: 1e-4, rtol: 1e-3, minSnrDb: null, minCosine: null}

describe('tensorMetrics', () => {
  it('computes max-abs (and where), RMS error, max relative error, cosine and SNR', () => {
    const golden = [1, -2, 0.5, 0]
    const actual = [1, -2.1, 0.5, 0.1]
    const {metrics, passed, reason} = tensorMetrics(actual, golden, GRAPH)
    expect(passed).toBe(false)
    expect(reason).toMatch(/max-abs 0\.1 at flat index [13]/)
    expect(metrics.maxAbs).toBeCloseTo(0.1, 12)
    expect(metrics.rmsError).toBeCloseTo(Math.sqrt((0.01 + 0.01) / 4), 12)
    expect(metrics.maxRel).toBeCloseTo(0.05, 12) // |golden| = 0 is left out of the relative error
    const dot = 1 + 4.2 + 0.25
    expect(metrics.cosine).toBeCloseTo(dot / Math.sqrt((1 + 4 + 0.25) * (1 + 4.41 + 0.25 + 0.01)), 12)
    expect(metrics.snrDb).toBeCloseTo(10 * Math.log10(5.25 / 0.02), 9)
    expect(metrics.score).toBeCloseTo(0.1 / 1e-4, 6) // the element whose golden is 0 has no relative allowance
    expect(metrics.scoreIndex).toBe(3)
  })

  it('passes within atol + rtol·|golden| and fails just beyond it', () => {
    expect(tensorMetrics([1000.0009], [1000], GRAPH).passed).toBe(true) // allowance 1e-4 + 1.0
    expect(tensorMetrics([1.0011], [1], GRAPH).passed).toBe(false) // allowance 1.1e-3
    expect(tensorMetrics([1.00105], [1], GRAPH).passed).toBe(true)
  })

  it('reports identical tensors with no SNR limit (null) and cosine 1', () => {
    const {metrics, passed} = tensorMetrics([0.25, -3], [0.25, -3], {atol: 0, rtol: 0, minSnrDb: null, minCosine: null})
    expect(passed).toBe(true)
    expect(metrics).toMatchObject({maxAbs: 0, rmsError: 0, snrDb: null, cosine: 1, score: 0})
  })

  it('requires NaN and ±Inf at the same places and leaves them out of the figures', () => {
    expect(tensorMetrics([Number.NaN, 1], [Number.NaN, 1], GRAPH).passed).toBe(true)
    expect(tensorMetrics([Infinity, 1], [Infinity, 1], GRAPH).passed).toBe(true)
    const nan = tensorMetrics([1, Number.NaN], [1, 2], GRAPH)
    expect(nan.passed).toBe(false)
    expect(nan.reason).toMatch(/NaN\/Inf disagree at 1 element\(s\), first at flat index 1/)
    expect(tensorMetrics([-Infinity], [Infinity], GRAPH).passed).toBe(false)
    expect(tensorMetrics([5], [Number.NaN], GRAPH).metrics.nonFiniteMismatches).toBe(1)
  })

  it('applies SNR and cosine floors when set, and atol only when not null', () => {
    const golden = Float32Array.from({length: 100}, (_, i) => Math.sin(i / 3))
    const noisy = golden.map((v, i) => v + (i % 2 === 0 ? 1e-3 : -1e-3))
    expect(tensorMetrics(noisy, golden, {atol: null, rtol: 0, minSnrDb: 40, minCosine: null}).passed).toBe(true)
    const strict = tensorMetrics(noisy, golden, {atol: null, rtol: 0, minSnrDb: 70, minCosine: null})
    expect(strict.passed).toBe(false)
    expect(strict.reason).toMatch(/SNR 5\d\.\d dB below 70 dB/)
    expect(tensorMetrics(noisy, golden, {atol: null, rtol: 0, minSnrDb: null, minCosine: 0.9999999}).passed).toBe(false)
  })
})

describe('CheckRecorder and summarizeRun', () => {
  const stages = new Set(PARITY_STAGES)

  it('compares integers and strings exactly, and reports a shape mismatch as a failure', async () => {
    const tolerances = await loadTolerances({})
    const rec = new CheckRecorder({mode: 'teacher', tolerances, stages})
    rec.exact({stage: 'text', check: 'tokens', tensor: 'chunk0.tokens', location: {chunk: 0}, actual: [1, 2, 3], golden: [1, 2, 4]})
    rec.exact({stage: 'text', check: 'text.chunks', tensor: 'chunks[0].text', location: {chunk: 0}, actual: 'Hello.', golden: 'Hello.'})
    rec.compare({
      stage: 'voice',
      check: 'voice.conditioning',
      tensor: 'conditioning',
      location: {},
      actual: new Float32Array(84 * 2),
      golden: new Float32Array(85 * 2),
      shape: [1, 85, 2],
      actualShape: [1, 84, 2],
    })
    const [tokens, text, shape] = rec.results
    expect(tokens).toMatchObject({passed: false, reason: '[1, 2, 3], golden [1, 2, 4] (first difference at index 2)'})
    expect(text?.passed).toBe(true)
    expect(shape).toMatchObject({passed: false, reason: 'shape [1, 84, 2], golden [1, 85, 2]'})
  })

  it('teacher-forced: the first divergence is the earliest stage; free-running: the earliest step', async () => {
    const tolerances = await loadTolerances({})
    const bad = {actual: [1], golden: [0], shape: [1]}
    for (const mode of ['teacher', 'free'] as const) {
      const rec = new CheckRecorder({mode, tolerances, stages})
      rec.compare({stage: 'mimi', check: 'frame_audio', tensor: 'chunk0.audio', location: {chunk: 0, frame: 2}, ...bad})
      rec.compare({stage: 'flowlm-layers', check: 'layer_out', tensor: 'chunk0.layer_out', location: {chunk: 0, step: 7, layer: 1}, ...bad})
      rec.compare({
        stage: 'flowlm-layers',
        check: 'layer_out',
        tensor: 'chunk0.layer_out',
        location: {chunk: 0, step: 7, layer: 0},
        actual: [0],
        golden: [0],
        shape: [1],
      })
      const summary = summarizeRun({mode, results: rec.results, skipped: [], selected: stages})
      expect(summary.failed).toBe(2)
      expect(summary.firstDivergence?.where).toBe(mode === 'teacher' ? 'chunk 0, step 7, layer 1' : 'chunk 0, frame 2')
      expect(summary.stages.find((s) => s.stage === 'flowlm-layers')).toMatchObject({status: 'fail', checks: 2, failed: 1})
      expect(summary.stages.find((s) => s.stage === 'text')?.status).toBe('skip')
    }
  })

  it('drops the checks of stages that were not selected', async () => {
    const rec = new CheckRecorder({mode: 'teacher', tolerances: await loadTolerances({}), stages: new Set(['text'] as const)})
    rec.compare({
      stage: 'latent',
      check: 'latent',
      tensor: 'chunk0.latent',
      location: {chunk: 0, step: 0},
      actual: [1],
      golden: [0],
      shape: [1],
    })
    expect(rec.results).toEqual([])
    const summary = summarizeRun({mode: 'teacher', results: rec.results, skipped: [], selected: new Set(['text'] as const)})
    expect(summary.stages.find((s) => s.stage === 'latent')?.skipped).toEqual(['not selected (--component)'])
  })
})
