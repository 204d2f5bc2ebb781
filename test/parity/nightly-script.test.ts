import {cp, mkdtemp, readFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {parse} from 'node-html-parser'
import {beforeAll, describe, expect, inject, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'
import type {ParityReport} from '../../src/parity/index.js'
import {NEEDS_ORACLE, ORACLE_TINY, skipWithoutOracle} from '../helpers/oracle.js'
import {runPythonJson} from '../helpers/python.js'
import {validateJunit} from './junit.js'

/**
 * scripts/nightly-parity.sh as CI calls it, on what exists here: the oracle's upstream-format model, its
 * goldens and its export stand in for a fixture made by `pockettts fixture make`, its goldens recorded by
 * `pockettts golden dump` and its export (the script makes those itself when PARITY_FIXTURE is not given).
 */
describe.skipIf(skipWithoutOracle)(`scripts/nightly-parity.sh ${NEEDS_ORACLE}`, () => {
  let work: string
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-nightly-'))
  })

  const script = async (out: string, golden: string, extra: Record<string, string> = {}) =>
    execa('bash', [join(packageRoot(), 'scripts', 'nightly-parity.sh'), out], {
      reject: false,
      env: {
        PARITY_FIXTURE: ORACLE_TINY,
        PARITY_GOLDEN: golden,
        PARITY_ONNX: inject('oracleOnnx'),
        PARITY_ORACLE: '0',
        PARITY_ORACLE4: '0',
        PARITY_PROJECT: '0',
        PARITY_CROSS: '0',
        ...extra,
      },
    })

  /** The HTML report of a set: its summary line and where its first divergence is marked. */
  const htmlReport = async (out: string) => {
    const root = parse(await readFile(join(out, 'reports', 'parity-given.html'), 'utf8'))
    return {
      summary: root.querySelector('#summary')?.text,
      marked: root.querySelectorAll('svg g.first-divergence').map((g) => g.closest('svg')?.getAttribute('data-stage')),
    }
  }

  it('writes the JSON, JUnit and HTML reports of each set and a summary, and exits 0 when parity passes', async () => {
    const golden = join(work, 'golden')
    for (const name of ['short', 'voice']) await cp(join(ORACLE_TINY, 'golden', name), join(golden, name), {recursive: true})
    const out = join(work, 'pass')
    const run = await script(out, golden)
    expect(run.exitCode, run.stderr).toBe(0)
    const report = JSON.parse(await readFile(join(out, 'reports', 'parity-given.json'), 'utf8')) as ParityReport
    expect(report).toMatchObject({ok: true, mode: 'both'})
    expect(report.cases.map((c) => c.name)).toEqual(['short', 'voice'])
    expect(validateJunit(await readFile(join(out, 'reports', 'parity-given.xml'), 'utf8'))).toHaveLength(4)
    expect(await readFile(join(out, 'reports', 'summary.txt'), 'utf8')).toMatch(
      /parity given: exit 0: No divergence: 2 case\(s\), 4 run\(s\)/,
    )
    expect(await htmlReport(out)).toEqual({summary: report.summary, marked: []})
  })

  it('exits 1 when parity fails, with the reports still written', async () => {
    const golden = join(work, 'bad-golden', 'hello')
    await cp(join(ORACLE_TINY, 'golden', 'hello'), golden, {recursive: true})
    await runPythonJson(`
import numpy as np, json
p = ${JSON.stringify(join(golden, 'chunk0.hidden.npy'))}
a = np.load(p); a[3] += 0.5; np.save(p, a); print(json.dumps(True))
`)
    const out = join(work, 'fail')
    const run = await script(out, golden)
    expect(run.exitCode, run.stderr).toBe(1)
    const report = JSON.parse(await readFile(join(out, 'reports', 'parity-given.json'), 'utf8')) as ParityReport
    expect(report.firstDivergence).toMatchObject({stage: 'flowlm-layers', tensor: 'chunk0.hidden', location: {chunk: 0, step: 3}})
    expect(validateJunit(await readFile(join(out, 'reports', 'parity-given.xml'), 'utf8'))[0]?.failures).toBeGreaterThan(0)
    expect(await htmlReport(out)).toEqual({summary: report.summary, marked: ['flowlm-layers']})
  })

  it(
    'release drift [needs .venv-4.0.1]: the 2.1.0 export against upstream 4.0.1 on the same weights names ' +
      'the first stage where they differ and the first drift (FlowLM layer 0)',
    async () => {
      const golden = join(work, 'cross-given')
      await cp(join(ORACLE_TINY, 'golden', 'short'), join(golden, 'short'), {recursive: true})
      const out = join(work, 'cross')
      const run = await script(out, golden, {PARITY_CROSS: '1'})
      // the drift is the finding, not a failure of the job
      expect(run.exitCode, run.stderr).toBe(0)
      const report = JSON.parse(await readFile(join(out, 'reports', 'parity-cross-release.json'), 'utf8')) as ParityReport
      expect(report.crossRelease).toEqual({model: '2.1.0', goldens: ['4.0.1']})
      expect(report.ok).toBe(false)
      // 4.x's tanh-approximate GELU: the FlowLM layers are the first stage to differ
      expect(report.firstDivergence).toMatchObject({stage: 'flowlm-layers', mode: 'teacher'})
      expect(report.summary).toMatch(
        /^Release drift \(2\.1\.0 export vs 4\.0\.1 golden\): the releases first differ at FlowLM layers at chunk 0, step \d+/,
      )
      // the GELU change is below the parity tolerance at the first layer, but above the drift floor: named where it starts
      expect(report.firstDrift).toMatchObject({
        stage: 'flowlm-layers',
        check: 'layer_out',
        location: {chunk: 0, step: 0, layer: 0},
        mode: 'teacher',
        floor: 1e-5,
      })
      expect(report.firstDrift?.maxAbs).toBeGreaterThan(1e-5)
      // and names the change that starts there: 4.x's tanh-approximate GELU (contracts/upstreams.json numericsChanges)
      expect(report.driftCause).toMatchObject({release: '4.0.1', stage: 'flowlm-layers', check: 'layer_out'})
      expect(report.summary).toMatch(/; it is where upstream 4\.0\.1's known change starts: the tanh-approximate GELU /)
      expect(report.summary).toContain(
        '; first drift above 1e-5: FlowLM layers at chunk 0, step 0, layer 0 (case hello, teacher-forced): chunk0.layer_out',
      )
      expect(await readFile(join(out, 'reports', 'summary.txt'), 'utf8')).toMatch(
        /release drift: Release drift \(2\.1\.0 export vs 4\.0\.1 golden\)/,
      )
    },
  )
})
