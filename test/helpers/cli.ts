import {execa} from 'execa'
import {join} from 'node:path'
import {packageRoot} from '../../src/config/project-paths.js'

export interface CliRun {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs the built `pockettts` binary as a user would (dist/ must be built: `npm test` builds first). */
export async function runCli(args: readonly string[], options: {env?: Record<string, string>; cwd?: string; timeoutMs?: number} = {}): Promise<CliRun> {
  const result = await execa(process.execPath, [join(packageRoot(), 'bin', 'run.js'), ...args], {
    reject: false,
    env: {...options.env},
    cwd: options.cwd ?? packageRoot(),
    timeout: options.timeoutMs ?? 600_000,
    stdin: 'ignore',
  })
  return {exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr}
}
