import {describe, expect, it} from 'vitest'
import contract from '../../contracts/upstreams.json' with {type: 'json'}
import type {CheckResult} from '../../src/parity/check-recorder.js'
import {DRIFT_FLOOR} from '../../src/parity/default-tolerances.js'
import {summarizeRun} from '../../src/parity/summarize-run.js'
import {PARITY_STAGES} from '../../src/parity/parity-stages.js'
import type {TensorMetrics} from '../../src/tensor/tensor-metrics.js'
import {findNumericsChange, UPSTREAM_RELEASES} from '../../src/upstream/index.js'

const tolerance = {exact: false, atol: 1e-4, rtol: 1e-3, minSnrDb: null, minCosine: null}

function metrics(maxAbs: number): TensorMetrics {
  return {
    elements: 4,
    maxAbs,
    maxAbsIndex: 1,
    rmsError: maxAbs / 2,
    maxRel: maxAbs,
    cosine: 1,
    snrDb: 80,
    mismatchedNonFinite: 0,
  } as TensorMetrics
}

function check(p: {step: number; layer: number; maxAbs: number; passed?: boolean}): CheckResult {
  return {
    stage: 'flowlm-layers',
    check: 'layer_out',
    tensor: 'chunk0.layer_out',
    location: {chunk: 0, step: p.step, layer: p.layer},
    passed: p.passed ?? true,
    tolerance,
    metrics: metrics(p.maxAbs),
    shape: [4],
    order: [3, 0, p.step, p.layer],
  }
}

describe('first drift of a run (parity --cross-release)', () => {
  it('is the first check in data-flow order whose max-abs exceeds the floor, even when within tolerance', () => {
    // recorded out of order: the data-flow order decides
    const results = [
      check({step: 6, layer: 0, maxAbs: 2e-4, passed: false}),
      check({step: 0, layer: 1, maxAbs: 3e-5}),
      check({step: 0, layer: 0, maxAbs: 2e-6}),
    ]
    const run = summarizeRun({mode: 'teacher', results, skipped: [], selected: new Set(PARITY_STAGES), driftFloor: DRIFT_FLOOR.floor})
    expect(run.firstDivergence).toMatchObject({where: 'chunk 0, step 6, layer 0'})
    expect(run.firstDrift).toMatchObject({where: 'chunk 0, step 0, layer 1', passed: true, maxAbs: 3e-5})
  })

  it('is null when every difference is float noise; absent without a floor', () => {
    const results = [check({step: 0, layer: 0, maxAbs: 2e-6})]
    expect(
      summarizeRun({mode: 'teacher', results, skipped: [], selected: new Set(PARITY_STAGES), driftFloor: DRIFT_FLOOR.floor}).firstDrift,
    ).toBeNull()
    expect(summarizeRun({mode: 'teacher', results, skipped: [], selected: new Set(PARITY_STAGES)}).firstDrift).toBeUndefined()
  })

  it('the floor sits above the measured cross-CPU noise and below the parity tolerance of the FlowLM layers', async () => {
    const {default: crossCpu} = (await import('../cross-cpu-tolerance.json', {with: {type: 'json'}})) as {
      default: {measured: {golden_max_abs: number}}
    }
    expect(DRIFT_FLOOR.floor).toBeGreaterThan(crossCpu.measured.golden_max_abs)
    expect(DRIFT_FLOOR.floor).toBeLessThan(tolerance.atol)
  })
})

describe('the cause of a first drift: the known numerics changes of contracts/upstreams.json', () => {
  it("names 4.0.1's tanh-approximate GELU where it starts (FlowLM layer_out), between 2.1.0 and 4.0.1 in either direction", () => {
    for (const releases of [
      ['2.1.0', '4.0.1'],
      ['4.0.1', '2.1.0'],
    ]) {
      const cause = findNumericsChange({releases, stage: 'flowlm-layers', check: 'layer_out'})
      expect(cause).toMatchObject({release: '4.0.1', stage: 'flowlm-layers', check: 'layer_out'})
      expect(cause?.change).toContain('tanh-approximate GELU')
    }
  })

  it('knows no change at another stage, within one release, or for a release that is not pinned', () => {
    expect(findNumericsChange({releases: ['2.1.0', '4.0.1'], stage: 'text', check: 'tokens'})).toBeNull()
    expect(findNumericsChange({releases: ['4.0.1', '4.0.1'], stage: 'flowlm-layers', check: 'layer_out'})).toBeNull()
    expect(findNumericsChange({releases: ['2.1.0', null, '9.9.9'], stage: 'flowlm-layers', check: 'layer_out'})).toBeNull()
  })

  it('every recorded change names a parity stage', () => {
    for (const release of UPSTREAM_RELEASES) {
      for (const change of contract.releases[release].numericsChanges as {stage: string}[]) {
        expect(PARITY_STAGES as readonly string[], `${release}: ${change.stage}`).toContain(change.stage)
      }
    }
  })
})
