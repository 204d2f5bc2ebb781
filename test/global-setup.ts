import {existsSync} from 'node:fs'
import {mkdtemp, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {TestProject} from 'vitest/node'
import {runCli} from './helpers/cli.js'
import {hasOracle, ORACLE_TINY} from './helpers/oracle.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The oracle tiny model exported once per test run ('' when the oracle is absent). Read-only: copy it to change it. */
    oracleOnnx: string
    /** That export's `--json` result ('' when the oracle is absent), tested in test/model/export-verify.test.ts. */
    oracleExportJson: string
    /** What the export's parent folder held right after it (no temporary folder may be left). */
    oracleExportSiblings: string[]
  }
}

let runTmp: string | undefined

/** Exports ../shared/oracle/tiny once per run, for the engine tests and for the export tests in test/model. */
export async function setup(project: TestProject): Promise<void> {
  // every temporary folder of this run (test files, CLI runs, Python jobs) goes under one folder, removed at the end
  runTmp = await mkdtemp(join(tmpdir(), 'pockettts-test-run-'))
  process.env['TMPDIR'] = runTmp
  if (!hasOracle) {
    project.provide('oracleOnnx', '')
    project.provide('oracleExportJson', '')
    project.provide('oracleExportSiblings', [])
    return
  }
  const work = await mkdtemp(join(runTmp, 'oracle-onnx-'))
  const out = join(work, 'oracle-tiny-onnx')
  // its own process: this is vitest's main process, whose output an in-process run would capture
  const run = await runCli(['model', 'export', '--from', ORACLE_TINY, '--out', out, '--json'], {spawn: true})
  if (run.exitCode !== 0 || !existsSync(join(out, 'manifest.json'))) {
    throw new Error(`exporting the oracle for the engine tests failed (exit ${run.exitCode}):\n${run.stderr}`)
  }
  project.provide('oracleOnnx', out)
  project.provide('oracleExportJson', run.stdout)
  project.provide('oracleExportSiblings', await readdir(work))
}

export async function teardown(): Promise<void> {
  if (runTmp !== undefined) await rm(runTmp, {recursive: true, force: true})
}
