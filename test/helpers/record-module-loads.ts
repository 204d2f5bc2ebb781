import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {execa} from 'execa'

export interface RecordModuleLoadsParams {
  /** A scratch folder for the hook, its registration and the log. */
  readonly work: string
  /** Node's arguments after the hook's `--import` (a script and its arguments, or `--input-type=module -e …`). */
  readonly argv: readonly string[]
  readonly cwd: string
}

export interface ModuleLoads {
  /** Every URL Node resolved in that process, in order (node: built-ins included). */
  readonly urls: string[]
  readonly exitCode: number | undefined
  readonly stderr: string
}

/** Runs a fresh Node process whose module resolution a loader hook records (for tests of what a process loads). */
export async function recordModuleLoads(params: RecordModuleLoadsParams): Promise<ModuleLoads> {
  const id = Math.random().toString(36).slice(2)
  const log = join(params.work, `resolved-${id}.txt`)
  const hooks = join(params.work, 'record-hooks.mjs')
  const register = join(params.work, `register-${id}.mjs`)
  await writeFile(
    hooks,
    [
      "import {appendFileSync} from 'node:fs'",
      'let log',
      'export function initialize(data) { log = data.log }',
      // appended synchronously before the module is loaded: once the process ends, every resolution is in the file
      "export async function resolve(specifier, context, next) { const r = await next(specifier, context); appendFileSync(log, r.url + '\\n'); return r }",
    ].join('\n'),
  )
  await writeFile(
    register,
    `import {register} from 'node:module'\nregister(${JSON.stringify(pathToFileURL(hooks).href)}, {data: {log: ${JSON.stringify(log)}}})\n`,
  )
  await writeFile(log, '')
  const result = await execa(process.execPath, ['--import', pathToFileURL(register).href, ...params.argv], {
    cwd: params.cwd,
    reject: false,
    stdin: 'ignore',
  })
  const urls = (await readFile(log, 'utf8')).split('\n').filter((u) => u !== '')
  return {urls, exitCode: result.exitCode, stderr: String(result.stderr)}
}
