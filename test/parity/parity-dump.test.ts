import {cp, mkdtemp, readFile, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeAll, describe, expect, inject, it} from 'vitest'
import {loadTolerances, runParity, type ParityReport} from '../../src/parity/index.js'
import {runCli} from '../helpers/cli.js'
import {NEEDS_ORACLE, ORACLE_TINY, skipWithoutOracle} from '../helpers/oracle.js'
import {runPythonJson} from '../helpers/python.js'

const GOLDEN = join(ORACLE_TINY, 'golden')

describe.skipIf(skipWithoutOracle)(`parity --dump and --against ${NEEDS_ORACLE}`, () => {
  let work: string
  let dump: string
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-parity-dump-'))
    dump = join(work, 'ts')
    const run = await runCli([
      'parity',
      '--model',
      inject('oracleOnnx'),
      '--golden',
      join(GOLDEN, 'hello'),
      join(GOLDEN, 'voice'),
      '--dump',
      dump,
      '--json',
    ])
    expect(run.exitCode, run.stderr).toBe(0)
    expect((JSON.parse(run.stdout) as ParityReport).dump).toEqual({dir: dump, cases: [join(dump, 'hello'), join(dump, 'voice')]})
  })

  it('writes the free-running tensors in the golden format, readable by NumPy, with the same chunks as upstream', async () => {
    const checked = await runPythonJson<Record<string, {manifest: unknown; tensors: Record<string, [string, number[]]>}>>(`
import json, numpy as np
out = {}
for case in ('hello', 'voice'):
    d = ${JSON.stringify(dump)} + '/' + case
    m = json.load(open(d + '/manifest.json'))
    tensors = {}
    for name, e in m['tensors'].items():
        a = np.load(d + '/' + e['file'])
        assert list(a.shape) == e['shape'] and str(a.dtype) == e['dtype'], (name, a.shape, a.dtype, e)
        tensors[name] = [str(a.dtype), list(a.shape)]
    out[case] = {'manifest': {k: m[k] for k in ('format', 'chunks', 'kind', 'voice_state') if k in m}, 'tensors': tensors}
print(json.dumps(out))
`)
    const upstream = JSON.parse(await readFile(join(GOLDEN, 'hello', 'manifest.json'), 'utf8')) as {chunks: unknown}
    expect(checked['hello']?.manifest).toEqual({format: 'pockettts-golden/1', chunks: upstream.chunks})
    expect(checked['hello']?.tensors).toMatchObject({
      'chunk0.tokens': ['int64', [16]],
      'chunk0.prefill_kv': ['float32', [16, 2, 2, 4, 16]],
      'chunk0.layer_out': ['float32', [51, 2, 64]],
      'chunk0.mimi_input': ['float32', [50, 64]],
      audio: ['float32', [96000]],
    })
    expect(checked['voice']?.manifest).toEqual({format: 'pockettts-golden/1', kind: 'voice', voice_state: 'voice.safetensors'})
    expect(checked['voice']?.tensors).toEqual({
      audio: ['float32', [1, 1, 160750]],
      mimi_latent: ['float32', [1, 32, 84]],
      conditioning: ['float32', [1, 85, 64]],
    })
  })

  it('--against compares two dumps tensor by tensor without a model (upstream vs this runtime: within tolerance)', async () => {
    const run = await runCli(['parity', '--golden', GOLDEN, '--against', dump, '--json'])
    // the oracle has six cases, the dump two: unpaired cases are an input error
    expect(run.exitCode).toBe(2)
    expect(JSON.parse(run.stdout)).toMatchObject({error: {code: 'PARITY_CASE_UNPAIRED', exitCode: 2}})
    const report = await runParity({
      goldens: [join(GOLDEN, 'hello'), join(GOLDEN, 'voice')],
      against: [join(dump, 'hello'), join(dump, 'voice')],
    })
    expect(report.ok).toBe(true)
    expect(report.mode).toBe('against')
    expect(report.model).toBeNull()
    const stages = Object.fromEntries(report.stages.map((s) => [s.stage, s]))
    for (const stage of ['text', 'voice', 'flowlm-layers', 'eos', 'latent', 'mimi', 'audio'])
      expect(stages[stage]?.status, stage).toBe('pass')
    expect(stages['text-prefill']?.skipped.join(' ')).toMatch(/prefill_kv: only in/)
  })

  it('a dump is a golden: the engine checked against its own dump compares the text prefill KV too, bit for bit', async () => {
    const report = await runParity({model: inject('oracleOnnx'), goldens: [join(dump, 'hello')], mode: 'both', threads: 1})
    expect(report.ok).toBe(true)
    const prefill = report.stages.find((s) => s.stage === 'text-prefill')
    expect(prefill).toMatchObject({status: 'pass', checks: 1})
    expect(prefill?.worst?.maxAbs).toBe(0)
  })

  it('a tampered dump fails --against at the tampered step', async () => {
    const tampered = join(work, 'tampered', 'hello')
    await cp(join(dump, 'hello'), tampered, {recursive: true})
    await runPythonJson(`
import numpy as np, json
p = ${JSON.stringify(join(tampered, 'chunk0.latent.npy'))}
a = np.load(p); a[10, 3] += 0.01; np.save(p, a); print(json.dumps(True))
`)
    const run = await runCli(['parity', '--golden', join(dump, 'hello'), '--against', tampered])
    expect(run.exitCode, run.stderr).toBe(1)
    expect(run.stdout.split('\n')[0]).toMatch(
      /^First divergence: latent at chunk 0, step 10 \(case hello, dump vs dump\): chunk0\.latent max-abs (0\.01|1\.00e-2) at \(3\) beyond atol 1e-4, rtol 1e-3/,
    )
  })

  it('a tolerance file applies: a tightened audio tolerance makes the whole-audio check fail', async () => {
    const file = join(work, 'tight.yaml')
    await writeFile(file, 'audio:\n  atol: 1.0e-12\n')
    const report = await runParity({
      goldens: [join(GOLDEN, 'hello')],
      against: [join(dump, 'hello')],
      tolerances: await loadTolerances({file}),
    })
    expect(report.ok).toBe(false)
    expect(report.firstDivergence).toMatchObject({stage: 'audio', check: 'audio', tensor: 'chunk0.audio'})
    expect(report.tolerances.audio).toBe('atol 1e-12')
  })
})
