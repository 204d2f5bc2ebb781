import {cp, mkdir, mkdtemp, readFile, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeAll, describe, expect, inject, it} from 'vitest'
import {CHECK_NAMES, DEFAULT_TOLERANCES, describeTolerance, loadTolerances, runParity} from '../../src/parity/index.js'
import {packageRoot} from '../../src/config/project-paths.js'
import {runCli} from '../helpers/cli.js'
import {NEEDS_ORACLE, ORACLE_TINY, skipWithoutOracle} from '../helpers/oracle.js'

const HELLO = join(ORACLE_TINY, 'golden', 'hello')

describe('parity tolerances', () => {
  let work: string
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-parity-tol-'))
  })

  it('docs/parity.md shows the same tolerance table as src/parity/default-tolerances.ts', async () => {
    const readme = await readFile(join(packageRoot(), 'docs', 'parity.md'), 'utf8')
    const rows = new Map(
      [...readme.matchAll(/^\| `([a-z_.]+)` \| [^|]+ \| ([^|]+) \| ([^|]+) \|$/gm)].map((m) => [m[1], [m[2]?.trim(), m[3]?.trim()]]),
    )
    expect([...rows.keys()]).toEqual(CHECK_NAMES)
    for (const name of CHECK_NAMES)
      expect(rows.get(name), name).toEqual([describeTolerance(DEFAULT_TOLERANCES[name]), DEFAULT_TOLERANCES[name].why])
  })

  it('overrides from JSON or YAML; unknown checks, fields, bad values and exact checks are errors', async () => {
    const json = join(work, 't.json')
    await writeFile(json, JSON.stringify({layer_out: {atol: 2e-4}, audio: {atol: null, minSnrDb: 40}}))
    const table = await loadTolerances({file: json})
    expect(table.layer_out).toEqual({atol: 2e-4, rtol: 1e-3, minSnrDb: null, minCosine: null})
    expect(table.audio).toEqual({atol: null, rtol: 0, minSnrDb: 40, minCosine: null})
    expect(table.hidden).toEqual({atol: 1e-4, rtol: 1e-3, minSnrDb: null, minCosine: null})
    const yaml = join(work, 't.yaml')
    await writeFile(yaml, 'frame_audio:\n  minCosine: 0.999\n')
    expect((await loadTolerances({file: yaml})).frame_audio.minCosine).toBe(0.999)
    for (const [text, why] of [
      ['{"latents": {"atol": 1}}', /unknown check "latents"/],
      ['{"latent": {"tol": 1}}', /"latent\.tol" is not a tolerance field/],
      ['{"latent": {"atol": -1}}', /"latent\.atol" must be a number >= 0 or null/],
      ['{"tokens": {"atol": 1}}', /"tokens" is compared exactly/],
      ['{"latent": {"atol": null}}', /"latent" would check nothing/],
      ['[1, 2]', /top level must be a mapping/],
    ] as const) {
      const file = join(work, 'bad.json')
      await writeFile(file, text)
      await expect(loadTolerances({file})).rejects.toMatchObject({
        code: 'TOLERANCES_INVALID',
        exitCode: 2,
        message: expect.stringMatching(why),
      })
    }
    await expect(loadTolerances({file: join(work, 'none.json')})).rejects.toMatchObject({code: 'TOLERANCES_NOT_FOUND', exitCode: 2})
  })
})

describe.skipIf(skipWithoutOracle)(`parity input errors exit 2 and name what is missing ${NEEDS_ORACLE}`, () => {
  let work: string
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-parity-usage-'))
  })

  it('a missing golden folder, a missing model and a folder that is no export: exit 2 with a code', async () => {
    const noGolden = await runCli(['parity', '--model', inject('oracleOnnx'), '--golden', join(work, 'nope'), '--json'])
    expect(noGolden.exitCode).toBe(2)
    expect(JSON.parse(noGolden.stdout)).toMatchObject({error: {code: 'GOLDEN_NOT_FOUND', exitCode: 2}})
    const noModel = await runCli(['parity', '--golden', HELLO])
    expect(noModel.exitCode).toBe(2)
    expect(noModel.stderr).toMatch(/Error \[PARITY_MODEL_REQUIRED\]/)
    await expect(runParity({model: inject('oracleOnnx'), goldens: [HELLO], against: [HELLO]})).rejects.toMatchObject({
      code: 'USAGE',
      exitCode: 2,
    })
    await mkdir(join(work, 'empty'))
    await expect(runParity({model: join(work, 'empty'), goldens: [HELLO]})).rejects.toMatchObject({
      code: 'PARITY_MODEL_NOT_FOUND',
      exitCode: 2,
    })
  })

  it('a golden without a tensor it needs is an error naming the tensor; unknown tensors are listed as skipped', async () => {
    // a tensor the golden's own values define is derived (the step inputs are its latents shifted by one) and named absent
    const derived = join(work, 'derived', 'hello')
    await cp(HELLO, derived, {recursive: true})
    const manifest = JSON.parse(await readFile(join(derived, 'manifest.json'), 'utf8')) as {tensors: Record<string, unknown>}
    delete manifest.tensors['chunk0.step_input']
    await writeFile(join(derived, 'manifest.json'), JSON.stringify(manifest))
    const report = await runParity({model: inject('oracleOnnx'), goldens: [derived], threads: 1})
    expect(report.ok).toBe(true)
    expect(report.cases[0]?.absentTensors).toEqual(['chunk*.step_input'])
    // the free run cannot replay noise it does not have
    const missing = join(work, 'missing', 'hello')
    await cp(HELLO, missing, {recursive: true})
    delete manifest.tensors['chunk0.noise']
    await writeFile(join(missing, 'manifest.json'), JSON.stringify(manifest))
    const run = await runCli(['parity', '--model', inject('oracleOnnx'), '--golden', missing, '--mode', 'free'])
    expect(run.exitCode).toBe(2)
    expect(run.stderr).toMatch(/Error \[GOLDEN_TENSOR_MISSING\]: .*lacks the tensor chunk0\.noise/)
    // only the text stage needs nothing but the tokens
    const textOnly = await runParity({model: inject('oracleOnnx'), goldens: [missing], components: ['text'], threads: 1})
    expect(textOnly.ok).toBe(true)

    const extra = join(work, 'extra', 'hello')
    await cp(HELLO, extra, {recursive: true})
    const withExtra = JSON.parse(await readFile(join(extra, 'manifest.json'), 'utf8')) as {tensors: Record<string, unknown>}
    withExtra.tensors['chunk0.attention_probs'] = {file: 'chunk0.eos_logit.npy', dtype: 'float32', shape: [51]}
    await writeFile(join(extra, 'manifest.json'), JSON.stringify(withExtra))
    const listed = await runCli(['parity', '--model', inject('oracleOnnx'), '--golden', extra, '--component', 'text'])
    expect(listed.exitCode, listed.stderr).toBe(0)
    expect(listed.stdout).toMatch(/^Skipped, unknown to parity: hello\/chunk0\.attention_probs$/m)
  })

  it('components that find nothing to compare are an error, not a silent pass', async () => {
    await expect(runParity({model: inject('oracleOnnx'), goldens: [HELLO], components: ['voice']})).rejects.toMatchObject({
      code: 'PARITY_NOTHING_COMPARED',
      exitCode: 2,
    })
  })
})
