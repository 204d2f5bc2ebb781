import {cp, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {embeddedModelDir, goldenDir} from '../../src/config/project-paths.js'
import type {ParityReport} from '../../src/parity/index.js'
import {runCli} from '../helpers/cli.js'

/** What an upstream 4.x golden holds per chunk (../shared/oracle4/README.md). */
const KEPT = new Set(['tokens', 'noise', 'eos_logit', 'latent', 'audio'])

/** A copy of a project golden case keeping only `keep(name)` tensors. */
async function subsetCase(work: string, name: string, keep: (tensor: string) => boolean): Promise<string> {
  const dir = join(work, name)
  await cp(join(goldenDir(), 'long'), dir, {recursive: true})
  const manifestPath = join(dir, 'manifest.json')
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as {tensors: Record<string, {file: string}>; model?: string}
  for (const [tensor, entry] of Object.entries(manifest.tensors)) {
    if (keep(tensor)) continue
    await rm(join(dir, entry.file))
    delete manifest.tensors[tensor]
  }
  // the case names its voice relative to the model folder; the copy lives elsewhere
  manifest.model = join(goldenDir(), 'long', manifest.model ?? '.')
  await writeFile(manifestPath, JSON.stringify(manifest))
  return dir
}

describe('parity on a golden holding a subset of the stages (as upstream 4.x goldens do)', () => {
  let work: string
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-parity-subset-'))
  })
  afterAll(async () => {
    await rm(work, {recursive: true, force: true})
  })

  it('compares what is there, teacher-forced and free-running, and names the absent tensors and stages', async () => {
    const dir = await subsetCase(work, 'subset', (t) => t === 'audio' || KEPT.has(t.split('.')[1] ?? ''))
    const run = await runCli(['parity', '--model', embeddedModelDir(), '--golden', dir, '--mode', 'both', '--json'])
    expect(run.exitCode, run.stderr + run.stdout.slice(0, 2000)).toBe(0)
    const report = JSON.parse(run.stdout) as ParityReport
    expect(report.ok).toBe(true)
    const stages = Object.fromEntries(report.stages.map((s) => [s.stage, s]))
    // the EOS logits and latents are teacher-forced from the golden's own latents, Mimi from them too
    for (const stage of ['text', 'eos', 'latent', 'mimi', 'audio']) {
      expect(stages[stage], stage).toMatchObject({status: 'pass', failed: 0})
      expect(stages[stage]?.checks, stage).toBeGreaterThan(0)
    }
    expect(report.absentStages).toEqual(['text-prefill', 'flowlm-layers', 'flow-head'])
    expect(report.cases[0]?.absentTensors).toEqual([
      'chunk*.text_embeddings',
      'chunk*.prefill_noise',
      'chunk*.step_input',
      'chunk*.layer_out',
      'chunk*.hidden',
      'chunk*.mimi_input',
    ])
    expect(report.cases[0]?.runs.map((r) => [r.mode, r.ok, r.checks > 0])).toEqual([
      ['teacher', true, true],
      ['free', true, true],
    ])
    expect(stages['flow-head']?.skipped.join(' ')).toMatch(/hidden: not in the golden/)

    const text = await runCli(['parity', '--model', embeddedModelDir(), '--golden', dir, '--mode', 'both'])
    expect(text.exitCode).toBe(0)
    expect(text.stdout).toMatch(/Absent from the golden\(s\): chunk\*\.text_embeddings, .*chunk\*\.mimi_input/)
    expect(text.stdout).toMatch(
      /Stages not compared \(nothing in the goldens to compare them with\): text prefill, FlowLM layers, flow head/,
    )
  })

  it('a golden holding only the audio and the noise still compares the chunk texts and the free run', async () => {
    const dir = await subsetCase(work, 'audio-only', (t) => t === 'audio' || t.endsWith('.noise'))
    const run = await runCli(['parity', '--model', embeddedModelDir(), '--golden', dir, '--mode', 'both', '--json'])
    expect(run.exitCode, run.stderr + run.stdout.slice(0, 2000)).toBe(0)
    const report = JSON.parse(run.stdout) as ParityReport
    const stages = Object.fromEntries(report.stages.map((s) => [s.stage, s]))
    expect(stages['audio']).toMatchObject({status: 'pass'})
    // the free run still checks the EOS step and step counts and the replayed noise; Mimi has no frame audio to meet
    expect(report.absentStages).toEqual(['text-prefill', 'flowlm-layers', 'flow-head', 'mimi'])
  })

  it('fails with PARITY_NOTHING_COMPARED when nothing selected is present', async () => {
    const dir = await subsetCase(work, 'bare', (t) => t.endsWith('.noise'))
    const run = await runCli([
      'parity',
      '--model',
      embeddedModelDir(),
      '--golden',
      dir,
      '--component',
      'flowlm',
      '--component',
      'flow',
      '--json',
    ])
    expect(run.exitCode).not.toBe(0)
    expect(run.stderr + run.stdout).toMatch(/PARITY_NOTHING_COMPARED/)
  })
})
