import {join} from 'node:path'
import {execa} from 'execa'
import {describe, expect, inject, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'
import {NEEDS_ORACLE, skipWithoutOracle} from '../helpers/oracle.js'

interface LoadReport {
  readonly requests: {readonly sent: number; readonly ok: number; readonly lost: number}
  readonly errors: {readonly connection: number; readonly timeouts: number}
  readonly checks: Readonly<Record<string, boolean>>
  readonly server: {readonly completed: number; readonly cpuSecondsPerCompleted: number | null}
}

describe.skipIf(skipWithoutOracle)(`scripts/load-test.mjs ${NEEDS_ORACLE}`, () => {
  it('runs bounded concurrent load against a loopback server and accounts for every request', async () => {
    const run = await execa(
      process.execPath,
      [
        join(packageRoot(), 'scripts', 'load-test.mjs'),
        '--model',
        inject('oracleOnnx'),
        '--connections',
        '2',
        '--duration',
        '2',
        '--threads',
        '1',
        '--json',
      ],
      {reject: false, timeout: 120_000},
    )
    expect(run.exitCode, run.stderr).toBe(0)
    const report = JSON.parse(run.stdout) as LoadReport
    expect(report.requests.ok).toBeGreaterThan(0)
    expect(report.requests.lost).toBe(0)
    expect(report.errors).toMatchObject({connection: 0, timeouts: 0})
    expect(Object.values(report.checks).every(Boolean)).toBe(true)
    // the server's CPU time per completed request, from its process metrics (every thread)
    expect(report.server.completed).toBeGreaterThan(0)
    expect(report.server.cpuSecondsPerCompleted).toBeGreaterThan(0)
  })

  it('refuses unbounded runs', async () => {
    const run = await execa(process.execPath, [join(packageRoot(), 'scripts', 'load-test.mjs'), '--connections', '1000'], {reject: false})
    expect(run.exitCode).toBe(2)
    expect(run.stderr).toContain('--connections must be a whole number from 1 to 64')
  })
})
