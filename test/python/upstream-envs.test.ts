import {cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {findPython} from '../../src/python/index.js'
import {releaseVenvPython, selectUpstream, UPSTREAM_RELEASES} from '../../src/upstream/index.js'
import {embeddedFixtureDir, embeddedModelDir, goldenDir} from '../../src/config/project-paths.js'
import {runCli} from '../helpers/cli.js'

describe('the pinned upstream releases (contracts/upstreams.json)', () => {
  it('each release has its own interpreter: its venv, or its own variable, which --python still overrides', () => {
    expect(UPSTREAM_RELEASES).toEqual(['2.1.0', '4.0.1'])
    expect(findPython({release: '4.0.1', env: {}})).toMatchObject({path: releaseVenvPython('4.0.1'), via: 'venv'})
    expect(findPython({release: '2.1.0', env: {}}).path).toBe(releaseVenvPython('2.1.0'))
    const viaEnv = findPython({release: '4.0.1', env: {POCKETTTS_PYTHON_4_0_1: 'python3'}, configured: '/x', origin: 'POCKETTTS_PYTHON'})
    expect(viaEnv).toMatchObject({via: 'configured', origin: 'POCKETTTS_PYTHON_4_0_1'})
    expect(findPython({release: '4.0.1', env: {POCKETTTS_PYTHON_4_0_1: '/x'}, configured: 'python3', origin: '--python'}).origin).toBe(
      '--python',
    )
    expect(() => findPython({release: '4.0.1', env: {POCKETTTS_PYTHON_4_0_1: '/nonexistent'}})).toThrow(/POCKETTTS_PYTHON_4_0_1/)
  })

  it("a command defaults to the newest release it supports, unless the contract's defaults name another", () => {
    expect(selectUpstream('golden dump', undefined)).toBe('4.0.1')
    // model export supports both; a folder recording no release is exported as 2.1.0 (contracts/upstreams.json defaults)
    expect(selectUpstream('model export', undefined)).toBe('2.1.0')
    expect(selectUpstream('model export', '4.0.1')).toBe('4.0.1')
    expect(() => selectUpstream('golden dump', '3.0.0')).toThrow(expect.objectContaining({code: 'UPSTREAM_UNKNOWN'}))
  })

  it('model export --upstream with a release that is not pinned is refused with a typed error before Python starts', async () => {
    const r = await runCli(['model', 'export', '--from', embeddedFixtureDir(), '--out', '/nonexistent/out', '--upstream', '3.0.0'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('Expected --upstream=3.0.0 to be one of: 2.1.0, 4.0.1')
  })

  it("a job run by another release's interpreter is refused (UPSTREAM_MISMATCH), naming the venv to use", async () => {
    const args = ['golden', 'dump', '--from', embeddedFixtureDir(), '--text', 'Hi.', '--seed', '1', '--out', '/nonexistent/out']
    const r = await runCli([...args, '--upstream', '4.0.1', '--python', releaseVenvPython('2.1.0')])
    expect(r.exitCode).toBe(3)
    expect(r.stderr).toContain('Error [UPSTREAM_MISMATCH]')
    expect(r.stderr).toContain('4.0.1 venv')
  })

  it('doctor reports both environments, and names the fix when one is missing', async () => {
    const ok = JSON.parse((await runCli(['doctor', '--json'])).stdout) as {checks: {id: string; status: string; detail: string}[]}
    expect(ok.checks.find((c) => c.id === 'python.pocket_tts')).toMatchObject({status: 'pass', detail: '2.1.0'})
    expect(ok.checks.find((c) => c.id === 'python@4.0.1.pocket_tts')).toMatchObject({status: 'pass', detail: '4.0.1'})
    const missing = await runCli(['doctor'], {env: {POCKETTTS_PYTHON_4_0_1: '/nonexistent/python'}})
    expect(missing.exitCode).toBe(1)
    expect(missing.stdout).toMatch(/FAIL\s+Python interpreter \(upstream 4\.0\.1\)/)
    expect(missing.stdout).toContain('npm run setup:python` (makes .venv-4.0.1)')
  })

  it('parity refuses a golden recorded by another release than the export (GOLDEN_UPSTREAM_MISMATCH)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pockettts-upstream-golden-'))
    try {
      const golden = join(dir, 'short')
      cpSync(join(goldenDir(), 'short'), golden, {recursive: true})
      const manifest = JSON.parse(readFileSync(join(golden, 'manifest.json'), 'utf8')) as {source: Record<string, string>}
      writeFileSync(
        join(golden, 'manifest.json'),
        JSON.stringify({...manifest, source: {...manifest.source, version: '4.0.1', upstream: '4.0.1'}}),
      )
      const r = await runCli(['parity', '--model', embeddedModelDir(), '--golden', golden])
      expect(r.exitCode).toBe(2)
      expect(r.stderr).toContain('Error [GOLDEN_UPSTREAM_MISMATCH]')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
