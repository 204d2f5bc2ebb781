import {mkdtemp, readFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeAll, describe, expect, inject, it} from 'vitest'
import type {ParityReport} from '../../src/parity/index.js'
import {runCli} from '../helpers/cli.js'
import {embeddedModelDir, goldenDir} from '../../src/config/project-paths.js'
import {NEEDS_ORACLE, ORACLE_TINY, skipWithoutOracle} from '../helpers/oracle.js'
import {validateJunit} from './junit.js'

/** Golden sets parity must pass on, each with the exported model it was recorded for (adding a set is one line). */
const GOLDEN_SETS: readonly {readonly name: string; readonly golden: () => string; readonly model: () => string}[] = [
  {name: 'oracle', golden: () => join(ORACLE_TINY, 'golden'), model: () => inject('oracleOnnx')},
  {name: 'project', golden: () => goldenDir(), model: () => embeddedModelDir()},
]

describe.skipIf(skipWithoutOracle)(`pockettts parity passes on every golden case ${NEEDS_ORACLE}`, () => {
  let work: string
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-parity-'))
  })

  it.each(GOLDEN_SETS)('$name: every case, teacher-forced then free-running, within tolerance; --json and valid --junit', async (set) => {
    const junit = join(work, `${set.name}.xml`)
    const run = await runCli(['parity', '--model', set.model(), '--golden', set.golden(), '--mode', 'both', '--json', '--junit', junit])
    expect(run.exitCode, run.stderr + run.stdout.slice(0, 2000)).toBe(0)
    const report = JSON.parse(run.stdout) as ParityReport
    expect(report.ok).toBe(true)
    expect(report.firstDivergence).toBeNull()
    expect(report.summary).toMatch(/^No divergence: \d+ case\(s\), \d+ run\(s\), \d+ checks within tolerance\.$/)
    expect(report.cases.length).toBeGreaterThanOrEqual(2)
    for (const c of report.cases) {
      expect(c.runs.map((r) => [r.mode, r.ok])).toEqual([
        ['teacher', true],
        ['free', true],
      ])
      expect(c.runs.every((r) => r.checks > 0)).toBe(true)
    }
    // every stage was compared somewhere, except the text prefill KV that upstream goldens do not record
    const stages = Object.fromEntries(report.stages.map((s) => [s.stage, s]))
    for (const stage of ['text', 'voice', 'flowlm-layers', 'eos', 'flow-head', 'latent', 'mimi', 'audio']) {
      expect(stages[stage], stage).toMatchObject({status: 'pass', failed: 0})
      expect(stages[stage]?.checks, stage).toBeGreaterThan(0)
    }
    expect(stages['text-prefill']?.status).toBe('skip')
    expect(stages['text-prefill']?.skipped.join(' ')).toMatch(/prefill_kv: not in the golden/)
    // the worst element of each float stage is reported with where it occurred
    expect(stages['flowlm-layers']?.worst).toMatchObject({passed: true, where: expect.stringMatching(/^chunk \d+, step \d+/)})
    expect(stages['flowlm-layers']?.worst?.maxAbs).toBeLessThan(1e-4)

    const xml = await readFile(junit, 'utf8')
    const suites = validateJunit(xml)
    expect(suites.map((s) => s.name).sort()).toEqual(
      report.cases.flatMap((c) => [`parity.${c.name}.teacher`, `parity.${c.name}.free`]).sort(),
    )
    for (const s of suites) {
      expect(s.testcases.map((t) => t.name)).toEqual([
        'text',
        'voice',
        'text prefill',
        'FlowLM layers',
        'EOS',
        'flow head',
        'latent',
        'Mimi',
        'audio',
      ])
      expect(s.failures).toBe(0)
      expect(s.testcases.filter((t) => t.failure !== undefined)).toEqual([])
    }
  })

  it('prints the verdict first, one row per stage, one row per case and mode; --verbose adds a row per step', async () => {
    const golden = join(ORACLE_TINY, 'golden', 'short')
    const plain = await runCli(['parity', '--model', inject('oracleOnnx'), '--golden', golden])
    expect(plain.exitCode, plain.stderr).toBe(0)
    const lines = plain.stdout.split('\n')
    expect(lines[0]).toMatch(/^No divergence: 1 case\(s\), 1 run\(s\), \d+ checks within tolerance\.$/)
    for (const label of ['text', 'voice', 'text prefill', 'FlowLM layers', 'EOS', 'flow head', 'latent', 'Mimi', 'audio']) {
      expect(lines.some((l) => l.startsWith(`${label} `))).toBe(true)
    }
    expect(plain.stdout).toMatch(/^short\s+teacher-forced\s+ok\s/m)
    expect(plain.stdout).not.toMatch(/^FlowLM layers\s+chunk 0, step \d+, layer \d+\s/m)
    const verbose = await runCli(['parity', '--model', inject('oracleOnnx'), '--golden', golden, '--verbose'])
    expect(verbose.exitCode, verbose.stderr).toBe(0)
    // short: EOS at step 1 + 5 frames after it = 7 steps (0..6), 6 frames
    expect(verbose.stdout).toMatch(/^FlowLM layers\s+chunk 0, step 6, layer 1\s+chunk0\.layer_out\s+ok\s/m)
    expect(verbose.stdout).toMatch(/^Mimi\s+chunk 0, frame 5\s+chunk0\.audio\s+ok\s/m)
  })
})
