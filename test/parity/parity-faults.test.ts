import {mkdtemp, readFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {execa} from 'execa'
import {beforeAll, describe, expect, inject, it} from 'vitest'
import {parityExitCode, runParity} from '../../src/parity/index.js'
import {runCli} from '../helpers/cli.js'
import {faultyRuntime, type ParityFaults} from '../helpers/parity-faults.js'
import {NEEDS_ORACLE, ORACLE_TINY, skipWithoutOracle} from '../helpers/oracle.js'
import {VENV_PYTHON} from '../helpers/python.js'
import {validateJunit} from './junit.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const HELLO = join(ORACLE_TINY, 'golden', 'hello')
const VOICE = join(ORACLE_TINY, 'golden', 'voice')

/** A copy of the exported oracle with one fault written into flow_lm_main.onnx (test/parity/inject_graph_fault.py). */
async function faultyExport(
  work: string,
  fault: 'perturb-weight' | 'rope-half-split',
  extra: readonly string[] = [],
): Promise<{dir: string; summary: Record<string, unknown>}> {
  const dir = join(work, fault)
  const run = await execa(VENV_PYTHON, [join(HERE, 'inject_graph_fault.py'), fault, inject('oracleOnnx'), dir, ...extra])
  return {dir, summary: JSON.parse(run.stdout) as Record<string, unknown>}
}

async function withFault(golden: string, mode: 'teacher' | 'free', faults: ParityFaults) {
  const report = await runParity({model: inject('oracleOnnx'), goldens: [golden], mode, runtime: faultyRuntime(faults), threads: 1})
  return {report, exitCode: parityExitCode(report), line: report.summary}
}

describe.skipIf(skipWithoutOracle)(`parity catches injected faults and names the first divergent stage ${NEEDS_ORACLE}`, () => {
  let work: string
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-parity-faults-'))
  })

  it('one FlowLM weight perturbed in the exported graph: FlowLM layers, step 0, the perturbed layer (exit 1, JUnit failure)', async () => {
    const {dir, summary} = await faultyExport(work, 'perturb-weight', ['--layer', '1', '--delta', '0.5'])
    expect(summary).toMatchObject({node: '/transformer/layers.1/linear1/MatMul'})
    const junit = join(work, 'weight.xml')
    const run = await runCli(['parity', '--model', dir, '--golden', HELLO, '--junit', junit])
    expect(run.exitCode, run.stderr).toBe(1)
    expect(run.stdout.split('\n')[0]).toMatch(
      /^First divergence: FlowLM layers at chunk 0, step 0, layer 1 \(case hello, teacher-forced\): chunk0\.layer_out max-abs \S+ at \(\d+\) beyond atol 1e-4, rtol 1e-3; rms /,
    )
    const [suite] = validateJunit(await readFile(junit, 'utf8'))
    expect(suite?.failures).toBeGreaterThan(0)
    const failing = suite?.testcases.find((t) => t.name === 'FlowLM layers')
    expect(failing?.failure?.message).toMatch(/^chunk 0, step 0, layer 1: chunk0\.layer_out max-abs/)
    // the blocks fed golden inputs downstream of FlowLM still pass: the fault is located, not smeared
    expect(suite?.testcases.find((t) => t.name === 'flow head')?.failure).toBeUndefined()
    expect(suite?.testcases.find((t) => t.name === 'Mimi')?.failure).toBeUndefined()
  })

  it('RoPE pairs rotated half-split instead of interleaved: FlowLM layers, step 0, layer 0 (exit 1)', async () => {
    const {dir, summary} = await faultyExport(work, 'rope-half-split')
    expect(summary['scopes']).toHaveLength(2)
    expect(summary['verified_max_error']).toBeLessThan(1e-5) // the rewrite is half-split RoPE, checked with NumPy
    const run = await runCli(['parity', '--model', dir, '--golden', HELLO, '--json'])
    expect(run.exitCode, run.stderr).toBe(1)
    const report = JSON.parse(run.stdout) as Awaited<ReturnType<typeof runParity>>
    expect(report.firstDivergence).toMatchObject({
      stage: 'flowlm-layers',
      case: 'hello',
      mode: 'teacher',
      tensor: 'chunk0.layer_out',
      location: {chunk: 0, step: 0, layer: 0},
    })
    expect(report.summary).toMatch(/^First divergence: FlowLM layers at chunk 0, step 0, layer 0 \(case hello, teacher-forced\)/)
  })

  it('frames_after_eos off by one (free-running): EOS, the frame count at the frame where it diverges', async () => {
    const later = await withFault(HELLO, 'free', {framesAfterEosDelta: 1})
    expect(later.exitCode).toBe(1)
    expect(later.line).toMatch(
      /^First divergence: EOS at chunk 0, frame 50 \(case hello, free-running\): chunks\[0\]\.frames: 51, golden 50/,
    )
    const earlier = await withFault(HELLO, 'free', {framesAfterEosDelta: -1})
    expect(earlier.exitCode).toBe(1)
    expect(earlier.line).toMatch(
      /^First divergence: EOS at chunk 0, frame 49 \(case hello, free-running\): chunks\[0\]\.frames: 49, golden 50/,
    )
    // every frame before the stop is still upstream's audio
    const audio = earlier.report.cases[0]?.runs[0]?.stages.find((s) => s.stage === 'audio')
    expect(audio?.failed).toBe(2) // the chunk audio and the whole audio are one frame short; frames 0..48 pass
  })

  it('noise not replayed (free-running): latent, the noise of chunk 0, step 0', async () => {
    const {exitCode, report, line} = await withFault(HELLO, 'free', {noiseNotReplayed: true})
    expect(exitCode).toBe(1)
    expect(report.firstDivergence).toMatchObject({stage: 'latent', tensor: 'chunk0.noise', location: {chunk: 0, step: 0}})
    expect(line).toMatch(/^First divergence: latent at chunk 0, step 0 \(case hello, free-running\): chunk0\.noise max-abs/)
  })

  it('Mimi state not carried between frames (teacher-forced): Mimi, frame 1 (frame 0 starts from the initial state either way)', async () => {
    const {exitCode, report, line} = await withFault(HELLO, 'teacher', {mimiStateNotCarried: true})
    expect(exitCode).toBe(1)
    expect(report.firstDivergence).toMatchObject({stage: 'mimi', check: 'frame_audio', location: {chunk: 0, frame: 1}})
    expect(line).toMatch(/^First divergence: Mimi at chunk 0, frame 1 \(case hello, teacher-forced\): chunk0\.audio max-abs/)
    const stages = Object.fromEntries(report.stages.map((s) => [s.stage, s.status]))
    expect(stages).toMatchObject({'flowlm-layers': 'pass', latent: 'pass', mimi: 'fail'})
  })

  it('the voice BOS omitted: voice, the conditioning (teacher-forced and free-running)', async () => {
    for (const mode of ['teacher', 'free'] as const) {
      const {exitCode, report, line} = await withFault(VOICE, mode, {dropVoiceBos: true})
      expect(exitCode).toBe(1)
      expect(report.firstDivergence).toMatchObject({stage: 'voice', tensor: 'conditioning', mode})
      expect(line).toMatch(
        /^First divergence: voice \(case voice, (teacher-forced|free-running)\): conditioning: shape \[1, 84, 64\], golden \[1, 85, 64\]( \(\d+ failing checks in 1 case\(s\)\))?$/,
      )
    }
  })
})
