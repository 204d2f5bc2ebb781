import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {beforeAll, describe, expect, inject, it} from 'vitest'
import type {BenchReport} from '../../src/bench/index.js'
import {runCli} from '../helpers/cli.js'
import {isCI, NEEDS_ORACLE, ORACLE_TINY, skipWithoutOracle} from '../helpers/oracle.js'
import {hasOracle4, oracle4Family} from '../helpers/oracle4.js'
import {oracle4Export} from '../helpers/oracle4-export.js'

describe.skipIf(skipWithoutOracle)(`pockettts bench on the exported oracle model ${NEEDS_ORACLE}`, () => {
  let work: string
  let model: string
  let first: BenchReport
  let stdoutReport: BenchReport
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-bench-'))
    model = inject('oracleOnnx')
    const out = join(work, 'report.json')
    const run = await runCli([
      'bench',
      '--model',
      model,
      '--frames',
      '6',
      '--runs',
      '2',
      '--warmup',
      '0',
      '--no-probe',
      '--against',
      'python',
      '--upstream-model',
      ORACLE_TINY,
      '--out',
      out,
      '--json',
    ])
    expect(run.exitCode, run.stderr).toBe(0)
    stdoutReport = JSON.parse(run.stdout) as BenchReport
    first = JSON.parse(await readFile(out, 'utf8')) as BenchReport
  })

  it('times fixed-frame runs and aggregates them (JSON on stdout and in --out)', () => {
    expect(first.format).toBe('pockettts-bench/1')
    expect(stdoutReport.summary).toEqual(first.summary)
    expect(first.runs).toHaveLength(2)
    for (const run of first.runs) expect({frames: run.frames, steps: run.steps}).toEqual({frames: 6, steps: 6})
    const {summary} = first
    expect(summary.speed.min).toBeLessThanOrEqual(summary.speed.median)
    expect(summary.speed.median).toBeLessThanOrEqual(summary.speed.max)
    expect(summary.realTimeFactor.median).toBeCloseTo(first.runs.map((r) => r.realTimeFactor).reduce((a, b) => a + b) / 2, 6)
    for (const stage of ['wall', 'text', 'flowLm', 'flowHead', 'mimi'] as const) expect(summary.msPerFrame[stage].median).toBeGreaterThan(0)
    expect(first.peakRssMb).toBeGreaterThan(10)
    expect(first.settings).toMatchObject({frames: 6, runs: 2, warmup: 0, mimiWorker: true})
    expect(first.cost.perFrame.flops).toBeGreaterThan(0)
    expect(first.probe).toBeNull()
    expect(first.mimiAlone).toBeNull() // timed with the probe only
    expect(first.machine.cores).toBeGreaterThan(0)
  })

  it('timed upstream pocket_tts on the same model, voice, text and frame count', () => {
    const upstream = first.upstream
    expect(upstream).not.toBeNull()
    expect(upstream?.versions['pocket_tts']).toBe('2.1.0')
    expect(upstream?.runs).toHaveLength(2)
    for (const run of upstream?.runs ?? []) expect(run.frames).toBe(6)
    expect(upstream?.speedRatio).toBeCloseTo(first.summary.speed.median / (upstream?.summary.speed.median ?? Number.NaN), 6)
  })

  it('passes against its own report as baseline, fails (exit 1) against a much faster one', async () => {
    const same = await runCli([
      'bench',
      '--model',
      model,
      '--frames',
      '4',
      '--runs',
      '1',
      '--warmup',
      '0',
      '--no-probe',
      '--baseline',
      join(work, 'report.json'),
      '--max-regression',
      '100000',
    ])
    expect(same.exitCode, same.stderr).toBe(0)
    expect(same.stdout).toContain('No regression beyond the limit.')
    const faster = {...first, summary: {...first.summary, speed: {...first.summary.speed, median: first.summary.speed.median * 1000}}}
    await writeFile(join(work, 'faster.json'), JSON.stringify(faster))
    const worse = await runCli([
      'bench',
      '--model',
      model,
      '--frames',
      '4',
      '--runs',
      '1',
      '--warmup',
      '0',
      '--no-probe',
      '--baseline',
      join(work, 'faster.json'),
      '--max-regression',
      '50',
      '--json',
    ])
    expect(worse.exitCode).toBe(1)
    const report = JSON.parse(worse.stdout) as BenchReport
    expect(report.baseline?.passed).toBe(false)
    expect(report.baseline?.comparisons.find((c) => c.metric.startsWith('speed'))?.regressed).toBe(true)
  })

  it('refuses a baseline that is not a bench report, before any work', async () => {
    await writeFile(join(work, 'bad.json'), '{"hello": 1}')
    const run = await runCli(['bench', '--model', model, '--baseline', join(work, 'bad.json')])
    expect(run.exitCode).toBe(2)
    expect(run.stderr).toContain('BASELINE_INVALID')
  })
})

describe.skipIf(!hasOracle4 && !isCI)('pockettts bench on a 4.x one-step family against upstream 4.0.1 [needs ../shared/oracle4]', () => {
  it('times both in one invocation: the combined step graph, fixed frames on both sides, upstream 4.0.1', async () => {
    const model = oracle4Export('t4-drift')
    const upstreamModel = oracle4Family('t4-drift')
    try {
      const run = await runCli([
        'bench',
        '--model',
        model ?? '',
        '--frames',
        '8',
        '--runs',
        '1',
        '--warmup',
        '0',
        '--no-probe',
        '--against',
        'python',
        '--upstream',
        '4.0.1',
        '--upstream-model',
        upstreamModel,
        '--json',
      ])
      expect(run.exitCode, run.stderr).toBe(0)
      const report = JSON.parse(run.stdout) as BenchReport
      expect(report.settings.stepWithHead).toBe(true)
      expect(report.runs[0]?.frames).toBe(8)
      expect(report.summary.msPerFrame.flowHead.median).toBeLessThan(report.summary.msPerFrame.flowLm.median) // inside the step call
      expect(report.upstream?.versions['pocket_tts']).toBe('4.0.1')
      // upstream 4.0.1's decoder thread yields several frames per chunk: frames are counted from the samples
      expect(report.upstream?.runs.map((r) => r.frames)).toEqual([8])
      expect(report.cost.flowHead.flops).toBeGreaterThan(0)
    } finally {
      await rm(dirname(upstreamModel), {recursive: true, force: true})
    }
  })
})
