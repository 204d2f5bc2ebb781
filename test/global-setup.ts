import {existsSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {TestProject} from 'vitest/node'
import {runCli} from './helpers/cli.js'
import {hasOracle, ORACLE_TINY} from './helpers/oracle.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The oracle tiny model exported once per test run ('' when the oracle is absent). */
    oracleOnnx: string
  }
}

let work: string | undefined

/** Exports ../shared/oracle/tiny once for every engine test file (the export itself is tested in test/model). */
export async function setup(project: TestProject): Promise<void> {
  if (!hasOracle) {
    project.provide('oracleOnnx', '')
    return
  }
  work = await mkdtemp(join(tmpdir(), 'pockettts-oracle-onnx-'))
  const out = join(work, 'oracle-tiny-onnx')
  const run = await runCli(['model', 'export', '--from', ORACLE_TINY, '--out', out])
  if (run.exitCode !== 0 || !existsSync(join(out, 'manifest.json'))) {
    throw new Error(`exporting the oracle for the engine tests failed (exit ${run.exitCode}):\n${run.stderr}`)
  }
  project.provide('oracleOnnx', out)
}

export async function teardown(): Promise<void> {
  if (work !== undefined) await rm(work, {recursive: true, force: true})
}
