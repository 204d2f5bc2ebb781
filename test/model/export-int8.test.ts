import {mkdtemp} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import type {BenchReport} from '../../src/bench/index.js'
import type {ExportModelResult} from '../../src/model/export-model.js'
import {readManifest} from '../../src/model/read-manifest.js'
import type {ExportManifest} from '../../src/model/manifest-types.js'
import type {VerifyReport} from '../../src/model/verify-model.js'
import {runCli} from '../helpers/cli.js'
import {NEEDS_ORACLE, ORACLE_TINY, skipWithoutOracle} from '../helpers/oracle.js'

describe.skipIf(skipWithoutOracle)(`model export --int8 on the oracle tiny model ${NEEDS_ORACLE}`, () => {
  let out: string
  let result: ExportModelResult
  let manifest: ExportManifest
  beforeAll(async () => {
    out = join(await mkdtemp(join(tmpdir(), 'pockettts-int8-')), 'tiny-int8')
    const run = await runCli(['model', 'export', '--from', ORACLE_TINY, '--out', out, '--int8', '--json'])
    expect(run.exitCode, run.stderr).toBe(0)
    result = JSON.parse(run.stdout) as ExportModelResult
    manifest = (await readManifest({dir: out})).manifest
  })

  it('quantises the transformer matmuls of flow_lm_main, the flow head and the Mimi decoder, and records what it did', () => {
    const q = manifest.quantization
    expect(q?.kind).toBe('int8-dynamic')
    expect(Object.keys(q?.graphs ?? {})).toEqual(['flow_lm_main', 'flow_lm_flow', 'mimi_decoder'])
    const main = q?.graphs['flow_lm_main']
    expect(main?.nodes).toBe(2 * 4) // 2 layers × (in_proj, out_proj, FFN in, FFN out)
    expect(main?.form).toContain('MatMulNBits')
    expect(main?.int8_bytes).toBeLessThan(main?.fp32_bytes ?? 0)
    expect(manifest.graphs['flow_lm_main']?.size).toBe(main?.int8_bytes)
    // the head's Gemms wider than the latent on both sides: 2 time embedders × 2, the conditioning embedding, per res
    // block its AdaLN modulation and 2 MLP layers, the final layer's modulation (not its latent-wide in/out layers)
    const head = q?.graphs['flow_lm_flow']
    expect(head?.nodes).toBe(12)
    expect(head?.int8_bytes).toBeLessThan(head?.fp32_bytes ?? 0)
    expect(manifest.graphs['flow_lm_flow']?.size).toBe(head?.int8_bytes)
    // the Mimi decoder's transformer (2 layers × 4) and its convolutions as matmuls, kept because its audio
    // stays >= 40 dB from the fp32 decoder's on every frame
    const mimi = q?.graphs['mimi_decoder']
    expect(mimi?.selection).toBe('transformer+convolutions')
    expect(mimi?.nodes).toBeGreaterThan(2 * 4)
    expect(mimi?.form).toContain('MatMulInteger')
    expect(manifest.graphs['mimi_decoder']?.size).toBe(mimi?.int8_bytes)
    const gate = q?.parity.mimi_decoder
    expect(gate?.int8).toBe(true)
    expect(gate?.tried?.[0]?.selection).toBe('transformer+convolutions')
    expect(gate?.audio_snr_db).toHaveLength(24)
    expect(gate?.min_audio_snr_db).toBeGreaterThanOrEqual(gate?.threshold_db ?? Number.POSITIVE_INFINITY)
    expect(result.quantization).toEqual(q)
  })

  it('sets the int8 graph tolerances from their measured error (2x), fp32 graphs keep theirs', () => {
    const main = manifest.graphs['flow_lm_main']!
    const measured = manifest.quantization!.graphs['flow_lm_main']!.max_abs_vs_upstream
    expect(measured['hidden']).toBeGreaterThan(1e-4) // int8 is really not fp32-exact
    expect(main.check.tolerance['hidden']?.atol).toBeGreaterThanOrEqual(2 * (measured['hidden'] ?? Number.NaN))
    expect(main.check.tolerance['new_offset']).toEqual({atol: 0, rtol: 0})
    const head = manifest.quantization!.graphs['flow_lm_flow']!.max_abs_vs_upstream
    expect(head['flow_dir']).toBeGreaterThan(1e-4)
    expect(manifest.graphs['flow_lm_flow']!.check.tolerance['flow_dir']?.atol).toBeGreaterThanOrEqual(2 * (head['flow_dir'] ?? Number.NaN))
    expect(manifest.graphs['latent_to_mimi']!.check.tolerance['default']).toEqual({atol: 1e-4, rtol: 1e-3})
    expect(manifest.quantization!.tolerance_rule).toContain('2x')
  })

  it('states the parity against the fp32 chain: SNR of the first frames and latents, EOS agreement', () => {
    const p = manifest.quantization!.parity
    expect(p.steps).toBe(24)
    expect(p.frame_snr_db).toHaveLength(8)
    expect(p.latent_snr_db).toHaveLength(8)
    for (const db of p.latent_snr_db) expect(db === null || db > 20).toBe(true)
    expect(p.eos_decision_agreement).toBeGreaterThanOrEqual(0)
    expect(p.eos_decision_agreement).toBeLessThanOrEqual(1)
    expect(p.upstream_run.frames.upstream).toBe(19)
    expect(typeof p.first_eos_step.fp32).toBe('number')
  })

  it('verifies, and the engine runs it (bench reports an int8 model)', async () => {
    const verified = await runCli(['model', 'verify', out, '--json'])
    expect(verified.exitCode, verified.stdout).toBe(0)
    const rows = (JSON.parse(verified.stdout) as VerifyReport).rows
    expect(rows.every((r) => r.ok)).toBe(true)
    // the embedded golden's calls are checked per graph; its synthesis is not held to fp32 parity
    expect(rows.find((r) => r.name === 'golden')).toMatchObject({ok: true, hash: 'pass', numerics: 'skip'})
    expect(rows.find((r) => r.name === 'golden')?.detail).toContain('int8 graphs')
    const bench = await runCli(['bench', '--model', out, '--frames', '3', '--runs', '1', '--warmup', '0', '--no-probe', '--json'])
    expect(bench.exitCode, bench.stderr).toBe(0)
    const report = JSON.parse(bench.stdout) as BenchReport
    expect(report.model.int8).toBe(true)
    expect(report.runs[0]?.frames).toBe(3)
  })
})
