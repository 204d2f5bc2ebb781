import {execa} from 'execa'
import {existsSync, readdirSync} from 'node:fs'
import {chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, truncate, unlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'
import {CancelledError} from '../../src/errors/index.js'
import type {GoldenManifest} from '../../src/golden/index.js'
import {exportModel, type ExportModelResult} from '../../src/model/export-model.js'
import {hashFile} from '../../src/hub/hash-file.js'
import {readManifest} from '../../src/model/read-manifest.js'
import type {VerifyReport, VerifyRow} from '../../src/model/verify-model.js'
import {runCli} from '../helpers/cli.js'
import {oracleFiles, startFakePocketHub} from '../helpers/fake-pocket-hub.js'
import type {LocalHub} from '../helpers/local-hub.js'
import {NEEDS_ORACLE, ORACLE_TINY, skipWithoutOracle} from '../helpers/oracle.js'

const GRAPHS = ['text_conditioner', 'flow_lm_main', 'flow_lm_flow', 'latent_to_mimi', 'mimi_decoder', 'mimi_encoder']

async function verify(dir: string, ...extra: string[]): Promise<{exitCode: number; report: VerifyReport; stderr: string}> {
  const run = await runCli(['model', 'verify', dir, '--json', ...extra])
  return {exitCode: run.exitCode, report: JSON.parse(run.stdout) as VerifyReport, stderr: run.stderr}
}

function row(report: VerifyReport, name: string): VerifyRow {
  const found = report.rows.find((r) => r.name === name)
  if (found === undefined) throw new Error(`no row ${name} in ${JSON.stringify(report.rows.map((r) => r.name))}`)
  return found
}

describe.skipIf(skipWithoutOracle)(`model export and model verify on the oracle tiny model ${NEEDS_ORACLE}`, () => {
  let work: string
  let exported: string
  let result: ExportModelResult
  let copies = 0

  /** A copy of the export with one thing broken. */
  async function brokenCopy(breakIt: (dir: string) => Promise<void>): Promise<string> {
    copies += 1
    const dir = join(work, `broken-${copies}`)
    await cp(exported, dir, {recursive: true})
    await breakIt(dir)
    return dir
  }

  beforeAll(async () => {
    // the run's one export of the oracle (test/global-setup.ts: `model export --from ORACLE_TINY --json`), copied
    // because these tests change it
    work = await mkdtemp(join(tmpdir(), 'pockettts-export-'))
    exported = join(work, 'tiny-onnx')
    await cp(inject('oracleOnnx'), exported, {recursive: true})
    result = JSON.parse(inject('oracleExportJson')) as ExportModelResult
  })
  afterAll(async () => {
    if (work !== undefined) await rm(work, {recursive: true, force: true})
  })

  it('exports the six graphs within tolerance of upstream, and the ONNX chain reproduces upstream', async () => {
    expect(inject('oracleExportSiblings')).toEqual(['oracle-tiny-onnx'])
    expect(result.generation).toBe('v2')
    expect(Object.keys(result.graphs).sort()).toEqual([...GRAPHS].sort())
    for (const graph of Object.values(result.graphs)) expect(Math.max(...Object.values(graph.max_abs))).toBeLessThan(1e-4)
    expect(result.chain.passed).toBe(true)
    expect(result.chain['eos_step']).toEqual({onnx: 16, upstream: 16})
    expect(result.voices).toEqual(['voice.safetensors', 'voice_prompt.wav'])
    expect(existsSync(join(exported, 'manifest.json'))).toBe(true)
  })

  it('writes a manifest a runtime can drive from: explicit state tables, capacities, model facts', async () => {
    const {manifest} = await readManifest({dir: exported})
    expect(manifest.model).toMatchObject({
      d_model: 64,
      num_layers: 2,
      num_heads: 4,
      head_dim: 16,
      latent_dim: 32,
      frame_size: 1920,
      sample_rate: 24000,
      insert_bos_before_voice: true,
      mimi_context: 250,
      mimi_steps_per_latent: 16,
    })
    expect(manifest.capacities).toMatchObject({
      max_prompt_positions: 376,
      max_gen_len: 234,
      flow_kv_positions: 660,
      mimi_attention_window: 250,
    })
    const main = manifest.graphs['flow_lm_main']!
    // the fused attention's RoPE table covers 8x the KV capacity: the positions the graph can be called at; and it
    // needs one past row (a first prefill gets a zero row before position 0, which its mask drops)
    expect(main.capacities).toEqual({past_kv_rows: 660, max_positions: 5280, min_past_rows: 1})
    expect(main.rewrites).toEqual(['fused_attention'])
    expect(manifest.graphs['mimi_decoder']!.capacities).toEqual({attention_window: 250})
    // one past input per layer and k|v, each fed the matching slice of new_kv (no per-step slicing of one big cache)
    expect(main.state).toEqual([
      ...[0, 1].flatMap((layer) =>
        ['k', 'v'].map((c, j) =>
          expect.objectContaining({
            input: `past_${c}.${layer}`,
            output: 'new_kv',
            kind: 'append',
            axis: 1,
            index: [layer, j],
            init: 'empty',
          }),
        ),
      ),
      expect.objectContaining({input: 'offset', output: 'new_offset', kind: 'replace', init: 'zeros'}),
    ])
    expect(main.inputs.find((i) => i.name === 'past_k.1')?.shape).toEqual([1, 'past_len', 4, 16])
    const decoder = manifest.graphs['mimi_decoder']!
    const inputs = new Map(decoder.inputs.map((t) => [t.name, t]))
    const outputs = new Map(decoder.outputs.map((t) => [t.name, t]))
    expect(decoder.state.length).toBe(decoder.inputs.length - 1)
    for (const link of decoder.state) {
      expect(link.kind).toBe('replace')
      expect(outputs.get(link.output)?.shape).toEqual(inputs.get(link.input)?.shape)
      expect(outputs.get(link.output)?.dtype).toBe(inputs.get(link.input)?.dtype)
    }
    expect(manifest.exporter).toMatchObject({opset: 17})
    expect(manifest.source.checkpoint).toMatchObject({
      name: 'model.safetensors',
      sha256: (await hashFile({path: join(ORACLE_TINY, 'model.safetensors')})).sha256,
    })
  })

  it('verify passes on the fresh export, one row per graph and file', async () => {
    const {exitCode, report} = await verify(exported)
    expect(exitCode).toBe(0)
    expect(report.ok).toBe(true)
    expect(report.rows.filter((r) => r.kind === 'graph').map((r) => r.name)).toEqual(GRAPHS)
    for (const r of report.rows.filter((x) => x.kind === 'graph'))
      expect([r.hash, r.contract, r.numerics]).toEqual(['pass', 'pass', 'pass'])
    // the embedded golden: each graph's recorded calls above, and its whole synthesis replayed like `parity --mode both`
    expect(row(report, 'golden')).toMatchObject({ok: true, hash: 'pass', numerics: 'pass'})
    expect(row(report, 'golden').detail).toMatch(/^teacher-forced and free-running: \d+ checks pass$/)
  })

  it('verify --lock checks the source checkpoint, tokenizer and config against the download lock', async () => {
    const hub = (file: string, sha256: string): Record<string, unknown> => ({
      file,
      repo: 'kyutai/tiny',
      revision: 'main',
      commit: 'c'.repeat(40),
      path: file.replace(/^tiny\//, ''),
      size: 1,
      sha256,
      url: `https://hub.example/${file}`,
    })
    const sha = async (name: string): Promise<string> => (await hashFile({path: join(ORACLE_TINY, name)})).sha256
    const lock = {
      format: 'pockettts-lock/1',
      files: [hub('tiny/model.safetensors', await sha('model.safetensors')), hub('tiny/tokenizer.model', await sha('tokenizer.model'))],
      generated: [{file: 'tiny/config.yaml', size: 1, sha256: await sha('config.yaml'), from: 'config-from:tiny.yaml'}],
      bundles: [],
    }
    const good = join(work, 'good.lock.json')
    await writeFile(good, JSON.stringify(lock))
    const passing = await verify(exported, '--lock', good)
    expect(passing.exitCode).toBe(0)
    expect(row(passing.report, 'lock')).toMatchObject({ok: true, hash: 'pass'})
    const bad = join(work, 'bad.lock.json')
    await writeFile(bad, JSON.stringify({...lock, files: [lock.files[0], hub('tiny/tokenizer.model', '0'.repeat(64))]}))
    const failing = await verify(exported, '--lock', bad)
    expect(failing.exitCode).toBe(1)
    expect(row(failing.report, 'lock')).toMatchObject({ok: false, hash: 'fail'})
    expect(row(failing.report, 'lock').detail).toContain('tokenizer tokenizer.model: sha256')
  })

  it('the export is a folder `model pack` accepts: every file/sha256 pair of its manifest holds', async () => {
    const run = await runCli(['model', 'pack', exported, '--out', join(work, 'tiny-onnx.tar.gz'), '--json'])
    expect(run.exitCode, run.stdout + run.stderr).toBe(0)
    await rm(join(work, 'tiny-onnx.tar.gz'))
  })

  it('a flipped byte in a graph fails that graph on its hash, exit 1', async () => {
    const dir = await brokenCopy(async (d) => {
      const path = join(d, 'flow_lm_main.onnx')
      const bytes = await readFile(path)
      bytes[Math.floor(bytes.length / 2)] ^= 0xff
      await writeFile(path, bytes)
    })
    const {exitCode, report} = await verify(dir)
    expect(exitCode).toBe(1)
    expect(row(report, 'flow_lm_main')).toMatchObject({ok: false, hash: 'fail'})
    expect(row(report, 'flow_lm_main').detail).toContain('sha256')
    expect(report.rows.filter((r) => !r.ok).map((r) => r.name)).toEqual(['flow_lm_main'])
  })

  it('a truncated graph fails its row (hash and load) while the others still run and pass', async () => {
    const dir = await brokenCopy(async (d) => truncate(join(d, 'mimi_decoder.onnx'), 1000))
    const {exitCode, report} = await verify(dir)
    expect(exitCode).toBe(1)
    expect(row(report, 'mimi_decoder')).toMatchObject({ok: false, hash: 'fail', contract: 'fail', numerics: 'skip'})
    expect(row(report, 'mimi_decoder').detail).toContain('truncated')
    for (const name of GRAPHS.filter((g) => g !== 'mimi_decoder')) expect(row(report, name).ok).toBe(true)
  })

  it('a deleted graph fails its row', async () => {
    const dir = await brokenCopy(async (d) => unlink(join(d, 'mimi_encoder.onnx')))
    const {exitCode, report} = await verify(dir)
    expect(exitCode).toBe(1)
    expect(row(report, 'mimi_encoder')).toMatchObject({ok: false, hash: 'fail'})
    expect(row(report, 'mimi_encoder').detail).toContain('missing')
    expect(report.rows.filter((r) => !r.ok).map((r) => r.name)).toEqual(['mimi_encoder'])
  })

  it('an edited shape in the manifest fails the contract of that graph', async () => {
    const dir = await brokenCopy(async (d) => {
      const manifest = JSON.parse(await readFile(join(d, 'manifest.json'), 'utf8')) as {
        graphs: Record<string, {outputs: {shape: unknown[]}[]}>
      }
      manifest.graphs['flow_lm_flow']!.outputs[0]!.shape[1] = 33
      await writeFile(join(d, 'manifest.json'), JSON.stringify(manifest))
    })
    const {exitCode, report} = await verify(dir)
    expect(exitCode).toBe(1)
    expect(row(report, 'flow_lm_flow')).toMatchObject({ok: false, hash: 'pass', contract: 'fail'})
    expect(row(report, 'flow_lm_flow').detail).toContain('flow_dir axis 1 is 32, the manifest says 33')
    expect(report.rows.filter((r) => !r.ok).map((r) => r.name)).toEqual(['flow_lm_flow'])
  })

  /** Adds 1 to the last float of a golden tensor (the manifest's sha256 of the file then differs too). */
  async function bumpGoldenTensor(d: string, name: (golden: GoldenManifest) => string): Promise<void> {
    const {manifest} = await readManifest({dir: d})
    const golden = JSON.parse(await readFile(join(d, manifest.golden.path, 'manifest.json'), 'utf8')) as GoldenManifest
    const path = join(d, manifest.golden.path, golden.tensors[name(golden)]!.file)
    const bytes = await readFile(path)
    bytes.writeFloatLE(bytes.readFloatLE(bytes.length - 4) + 1, bytes.length - 4)
    await writeFile(path, bytes)
  }

  it('a tampered recorded call in the golden fails numerics of its graph, naming the call; a corrupt manifest is one failing row', async () => {
    const tampered = await brokenCopy((d) => bumpGoldenTensor(d, (g) => g.calls!['latent_to_mimi']![0]!.outputs['mimi_input']!))
    const first = await verify(tampered)
    expect(first.exitCode).toBe(1)
    expect(row(first.report, 'latent_to_mimi')).toMatchObject({ok: false, hash: 'pass', contract: 'pass', numerics: 'fail'})
    expect(row(first.report, 'latent_to_mimi').detail).toMatch(/^frame_0 mimi_input: /)
    // the golden's own hash fails; its replay is skipped because a graph row failed
    expect(row(first.report, 'golden')).toMatchObject({ok: false, hash: 'fail', numerics: 'skip'})
    expect(first.report.rows.filter((r) => !r.ok).map((r) => r.name)).toEqual(['latent_to_mimi', 'golden'])
    const corrupt = await brokenCopy(async (d) => writeFile(join(d, 'manifest.json'), '{"format": "pockettts-onnx/1", "graphs": '))
    const second = await verify(corrupt)
    expect(second.exitCode).toBe(1)
    expect(second.report.rows).toEqual([expect.objectContaining({name: 'manifest', ok: false})])
    expect(second.stderr).not.toMatch(/at .*\.js:\d+/)
  })

  it('a tampered synthesis tensor of the golden fails its replay, naming the first stage that diverged', async () => {
    const dir = await brokenCopy((d) => bumpGoldenTensor(d, () => 'chunk0.latent'))
    const {exitCode, report} = await verify(dir)
    expect(exitCode).toBe(1)
    for (const name of GRAPHS) expect(row(report, name).ok).toBe(true)
    expect(row(report, 'golden')).toMatchObject({ok: false, hash: 'fail', numerics: 'fail', stage: 'flow-head'})
    expect(row(report, 'golden').detail).toMatch(
      /First divergence: flow head at chunk 0, step \d+ \(case reference, teacher-forced\): chunk0\.latent/,
    )
  })

  it('refuses to overwrite without --force; --force replaces the export with the same bytes', async () => {
    const refused = await runCli(['model', 'export', '--from', ORACLE_TINY, '--out', exported, '--json'])
    expect(refused.exitCode).toBe(2)
    expect(JSON.parse(refused.stdout)).toMatchObject({error: {code: 'EXPORT_OUT_EXISTS'}})
    const before = await readFile(join(exported, 'manifest.json'), 'utf8')
    await writeFile(join(exported, 'stale.txt'), 'from an older export')
    const forced = await runCli(['model', 'export', '--from', ORACLE_TINY, '--out', exported, '--force'])
    expect(forced.exitCode, forced.stderr).toBe(0)
    expect(existsSync(join(exported, 'stale.txt'))).toBe(false)
    // same input, same bytes: the manifest records the sha256 of every file
    expect(await readFile(join(exported, 'manifest.json'), 'utf8')).toBe(before)
    expect((await readdir(work)).filter((f) => f.startsWith('.'))).toEqual([])
  })
})

describe.skipIf(skipWithoutOracle)(`an interrupted export leaves nothing behind ${NEEDS_ORACLE}`, () => {
  let work: string
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-abort-'))
  })
  afterAll(async () => {
    if (work !== undefined) await rm(work, {recursive: true, force: true})
  })

  it('aborting the library call mid-way cancels it: no output folder, no temporary folder', async () => {
    const controller = new AbortController()
    const out = join(work, 'aborted')
    let partial: string[] = []
    const run = exportModel({
      from: ORACLE_TINY,
      out,
      signal: controller.signal,
      onProgress: (event) => {
        // abort once the first graph is written into the temporary folder
        if (event.stage === 'export' && event.done === 1 && !controller.signal.aborted) {
          controller.abort()
          partial = readdirSync(work).flatMap((d) => readdirSync(join(work, d)).map((f) => `${d}/${f}`))
        }
      },
    })
    await expect(run).rejects.toBeInstanceOf(CancelledError)
    // the reference run's voice prompt (golden/) is written first, then the graphs
    expect(partial).toEqual([
      expect.stringMatching(/^\.aborted\.partial-[0-9a-f]+\/golden$/),
      expect.stringMatching(/^\.aborted\.partial-[0-9a-f]+\/text_conditioner\.onnx$/),
    ])
    expect(existsSync(out)).toBe(false)
    expect(await readdir(work)).toEqual([])
  })

  it('Ctrl-C on the CLI exits 130 and leaves no output folder', async () => {
    const out = join(work, 'interrupted')
    const child = execa(process.execPath, [join(packageRoot(), 'bin', 'run.js'), 'model', 'export', '--from', ORACLE_TINY, '--out', out], {
      reject: false,
      stdin: 'ignore',
    })
    let sent = false
    child.stderr?.on('data', (chunk: Buffer) => {
      if (!sent && chunk.toString().includes('load')) {
        sent = true
        child.kill('SIGINT')
      }
    })
    const result = await child
    expect(sent).toBe(true)
    expect(result.exitCode).toBe(130)
    expect(existsSync(out)).toBe(false)
    expect(await readdir(work)).toEqual([])
  })
})

describe.skipIf(skipWithoutOracle)(`download, export and verify --lock end to end ${NEEDS_ORACLE}`, () => {
  let hub: LocalHub
  let work: string
  beforeAll(async () => {
    hub = await startFakePocketHub(oracleFiles())
    work = await mkdtemp(join(tmpdir(), 'pockettts-e2e-'))
  })
  afterAll(async () => {
    await hub?.close()
    if (work !== undefined) await rm(work, {recursive: true, force: true})
  })

  it('a folder written by `model download` exports (voices/ included) and verifies against its lock file', async () => {
    const models = join(work, 'models')
    const env = {HF_TOKEN: '', POCKETTTS_HUB_ENDPOINT: '', POCKETTTS_MODELS_DIR: ''}
    const download = await runCli(
      [
        'model',
        'download',
        '--upstream',
        '2.1.0',
        '--endpoint',
        hub.url,
        '--out',
        models,
        '--allow-no-cloning',
        '--config-from',
        join(ORACLE_TINY, 'config.yaml'),
      ],
      {env},
    )
    expect(download.exitCode, download.stderr).toBe(0)
    const out = join(models, 'english-onnx')
    const run = await runCli(['model', 'export', '--from', join(models, 'english'), '--out', out, '--json'])
    expect(run.exitCode, run.stderr).toBe(0)
    expect((JSON.parse(run.stdout) as ExportModelResult).voices).toEqual(['voices/alba.safetensors'])
    const {exitCode, report} = await verify(out, '--lock', join(models, 'pockettts.lock.json'))
    expect(exitCode).toBe(0)
    expect(row(report, 'lock').detail).toBe(
      'checkpoint = lock english/model.safetensors; tokenizer = lock english/tokenizer.model; config = lock english/config.yaml',
    )
    expect(row(report, 'voices/alba.safetensors').ok).toBe(true)
  })
})

const FIXTURE_TINY = join(packageRoot(), 'fixtures', 'tiny')

describe('model export and model verify on the embedded fixture (fixtures/tiny → fixtures/tiny-onnx)', () => {
  let work: string
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-fixture-'))
  })
  afterAll(async () => {
    if (work !== undefined) await rm(work, {recursive: true, force: true})
  })

  it('exports within tolerance of upstream and verifies', async () => {
    const out = join(work, 'fixture-onnx')
    const run = await runCli(['model', 'export', '--from', FIXTURE_TINY, '--out', out, '--json'])
    expect(run.exitCode, run.stderr).toBe(0)
    expect((JSON.parse(run.stdout) as ExportModelResult).chain.passed).toBe(true)
    const {exitCode, report} = await verify(out)
    expect(exitCode).toBe(0)
    expect(report.rows.filter((r) => r.kind === 'graph').map((r) => r.name)).toEqual(GRAPHS)
    // The committed embedded model (what synth uses) is current: a fresh export gives the same graphs.
    const fresh = (await readManifest({dir: out})).manifest
    const committed = (await readManifest({dir: join(packageRoot(), 'fixtures', 'tiny-onnx')})).manifest
    for (const name of GRAPHS)
      expect(committed.graphs[name]?.sha256, `${name}: run npm run fixtures:regenerate`).toBe(fresh.graphs[name]?.sha256)
  })

  it('the committed embedded model fixtures/tiny-onnx verifies', async () => {
    const {exitCode, report} = await verify(join(packageRoot(), 'fixtures', 'tiny-onnx'))
    expect(exitCode, JSON.stringify(report.rows.filter((r) => !r.ok))).toBe(0)
  })
})

describe('model export preflight errors', () => {
  let work: string
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-preflight-'))
  })
  afterAll(async () => {
    if (work !== undefined) await rm(work, {recursive: true, force: true})
  })

  it('a missing source folder is a usage error (exit 2) before any Python runs', async () => {
    const run = await runCli(['model', 'export', '--from', join(work, 'nope'), '--out', join(work, 'out'), '--json'])
    expect(run.exitCode).toBe(2)
    expect(JSON.parse(run.stdout)).toMatchObject({error: {code: 'MODEL_SOURCE_NOT_FOUND'}})
  })

  it('a Python without the tooling is a prerequisite error naming the missing module (exit 3)', async () => {
    const venvPython = join(packageRoot(), '.venv', 'bin', 'python')
    const source = join(work, 'model')
    await mkdir(source, {recursive: true})
    await writeFile(join(source, 'config.yaml'), 'weights_path: model.safetensors\n')
    const bare = join(work, 'bare-python')
    await writeFile(bare, `#!/bin/sh\nexec "${existsSync(venvPython) ? venvPython : 'python3'}" -S "$@"\n`)
    await chmod(bare, 0o755)
    const run = await runCli(['model', 'export', '--from', source, '--out', join(work, 'out'), '--python', bare, '--json'])
    expect(run.exitCode).toBe(3)
    const {error} = JSON.parse(run.stdout) as {error: {code: string; message: string}}
    expect(error.code).toBe('PYTHON_MODULE_MISSING')
    expect(error.message).toContain('torch')
    expect(existsSync(join(work, 'out'))).toBe(false)
  })

  it('too little disk space is a prerequisite error with the sizes', async () => {
    const {checkDiskSpace} = await import('../../src/model/export-preflight.js')
    const source = join(work, 'model')
    await mkdir(source, {recursive: true})
    await writeFile(join(source, 'model.safetensors'), Buffer.alloc(1024))
    await expect(checkDiskSpace({from: source, out: join(work, 'out'), freeBytes: async () => 1024 ** 2})).rejects.toMatchObject({
      code: 'DISK_FULL',
      exitCode: 3,
    })
    await expect(checkDiskSpace({from: source, out: join(work, 'out'), freeBytes: async () => 1024 ** 3})).resolves.toBeUndefined()
  })
})
