import {execa} from 'execa'
import {describe, expect, it} from 'vitest'
import {PrerequisiteError} from '../../src/errors/index.js'
import {assertModulesPresent, findPython, probePython} from '../../src/python/index.js'
import {runCli} from '../helpers/cli.js'

describe('findPython', () => {
  it('a configured interpreter that does not exist names its origin and the fix', () => {
    const error = (() => {
      try {
        findPython({configured: '/nonexistent/python', origin: 'POCKETTTS_PYTHON'})
      } catch (e) {
        return e
      }
    })() as PrerequisiteError
    expect(error.code).toBe('PYTHON_NOT_FOUND')
    expect(error.message).toContain('POCKETTTS_PYTHON')
    expect(error.hint).toContain('npm run setup:python')
  })

  it('prefers the project venv, then python3 on PATH', () => {
    expect(findPython({venvPython: '/nonexistent/venv/python'}).via).toBe('path')
    expect(() => findPython({venvPython: '/nonexistent/venv/python', pathEnv: '/nonexistent'})).toThrow(/No Python interpreter found/)
  })

  it('resolves a bare name on PATH', () => {
    expect(findPython({configured: 'python3'}).path).toMatch(/python3$/)
  })
})

describe('probePython', () => {
  it('reports versions and names the pip requirement of a missing module', async () => {
    // A bare interpreter without the tooling: create an empty venv (fast, no packages).
    const {stdout: dir} = await execa('mktemp', ['-d'])
    await execa('python3', ['-m', 'venv', '--without-pip', `${dir}/venv`])
    const probe = await probePython({python: `${dir}/venv/bin/python`, modules: ['pocket_tts', 'torch']})
    expect(probe.modules.every((m) => m.version === null)).toBe(true)
    const error = (() => {
      try {
        assertModulesPresent(probe)
      } catch (e) {
        return e
      }
    })() as PrerequisiteError
    expect(error.code).toBe('PYTHON_MODULE_MISSING')
    expect(error.message).toContain('pocket_tts, torch')
    expect(error.hint).toContain("'pocket-tts==2.1.0'")
    expect(error.hint).toContain('torch==2.13.0 first')
  })
})

describe('pockettts doctor', () => {
  it('passes on this machine and prints a table', async () => {
    const r = await runCli(['doctor'])
    expect(r.stdout).toMatch(/onnxruntime-node\s+v1\.30/)
    expect(r.exitCode).toBe(0)
  })

  it('fails with POCKETTTS_PYTHON=/nonexistent and names the fix', async () => {
    const r = await runCli(['doctor'], {env: {POCKETTTS_PYTHON: '/nonexistent'}})
    expect(r.exitCode).toBe(1)
    expect(r.stdout).toMatch(/FAIL\s+Python interpreter/)
    expect(r.stdout).toContain('npm run setup:python')
  })

  it('--json gives a machine-readable report', async () => {
    const r = await runCli(['doctor', '--json'], {env: {POCKETTTS_PYTHON: '/nonexistent'}})
    const report = JSON.parse(r.stdout) as {ok: boolean; checks: {id: string; status: string}[]}
    expect(report.ok).toBe(false)
    expect(report.checks.find((c) => c.id === 'python')?.status).toBe('fail')
    expect(report.checks.find((c) => c.id === 'node')?.status).toBe('pass')
  })
})
