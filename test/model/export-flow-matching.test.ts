import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import type {ExportModelResult} from '../../src/model/export-model.js'
import {readManifest} from '../../src/model/read-manifest.js'
import {runCli} from '../helpers/cli.js'

describe('model export of a 4.x flow_matching head (fixture preset tiny-4-flow-matching)', () => {
  let work = ''
  afterAll(async () => {
    if (work !== '') await rm(work, {recursive: true, force: true})
  })

  it("traces the head with one time input; graphs and chain match upstream 4.0.1's ot_decode run", async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-flow-matching-'))
    const source = join(work, 'fm')
    const made = await runCli(['fixture', 'make', '--preset', 'tiny-4-flow-matching', '--out', source], {spawn: true})
    expect(made.exitCode, made.stderr).toBe(0)
    const out = join(work, 'fm-onnx')
    // no --upstream: the fixture records 4.0.1
    const run = await runCli(['model', 'export', '--from', source, '--out', out, '--json'], {spawn: true})
    expect(run.exitCode, run.stderr).toBe(0)
    const result = JSON.parse(run.stdout) as ExportModelResult
    expect(result.chain.passed).toBe(true)
    // every AR step's evaluation plus the two of a 2-step ot_decode
    const steps = (result.chain['steps'] as {upstream: number}).upstream
    expect(result.graphs['flow_lm_flow']?.calls).toBe(steps + 2)
    expect(result.graphs['flow_lm_flow']?.max_abs['flow_dir']).toBeLessThan(1e-4)
    const {manifest} = await readManifest({dir: out})
    expect(manifest.model.upstream).toBe('4.0.1')
    expect(manifest.model.sampler).toEqual({type: 'flow_matching', decode_steps: 1})
    const flow = manifest.graphs['flow_lm_flow']
    expect(flow?.inputs.map((s) => s.name)).toEqual(['hidden', 't', 'x'])
    expect(flow?.outputs.map((s) => s.name)).toEqual(['flow_dir'])
  })
})
