import {existsSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import type {TestProject} from 'vitest/node'
import {runCli} from './helpers/cli.js'
import {hasOracle4, oracle4Family} from './helpers/oracle4.js'

/** The oracle4 families, each exported once per test run. */
export const ORACLE4_FAMILIES = ['t4-drift', 't4-point', 't4-lsd'] as const
export type Oracle4Family = (typeof ORACLE4_FAMILIES)[number]

declare module 'vitest' {
  export interface ProvidedContext {
    /**
     * Family -> its `model export --upstream 4.0.1` (read-only: copy it to change it); {} when ../shared/oracle4 is
     * absent. `t4-point` is exported without --upstream from a copy whose fixture.json records 4.0.1.
     */
    oracle4Onnx: Record<string, string>
    /** Family -> that export's `--json` result. */
    oracle4ExportJson: Record<string, string>
  }
}

/**
 * Exports ../shared/oracle4's families once per run (after test/global-setup.ts, whose run folder under TMPDIR
 * holds them and is removed at the end), for the export tests in test/model and the 4.x engine tests.
 */
export async function setup(project: TestProject): Promise<void> {
  const onnx: Record<string, string> = {}
  const json: Record<string, string> = {}
  if (hasOracle4) {
    for (const family of ORACLE4_FAMILIES) {
      const source = oracle4Family(family)
      const out = join(dirname(source), `${family}-onnx`)
      let upstream = ['--upstream', '4.0.1']
      if (family === 't4-point') {
        // the release a fixture records is the default (as `fixture make --upstream 4.0.1` writes it)
        await writeFile(join(source, 'fixture.json'), JSON.stringify({upstream: '4.0.1'}) + '\n')
        upstream = []
      }
      // its own process: this is vitest's main process, whose output an in-process run would capture
      const run = await runCli(['model', 'export', '--from', source, '--out', out, '--json', ...upstream], {spawn: true})
      if (run.exitCode !== 0 || !existsSync(join(out, 'manifest.json'))) {
        throw new Error(`exporting oracle4 ${family} failed (exit ${run.exitCode}):\n${run.stderr}`)
      }
      onnx[family] = out
      json[family] = run.stdout
    }
  }
  project.provide('oracle4Onnx', onnx)
  project.provide('oracle4ExportJson', json)
}
