import {existsSync} from 'node:fs'
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'
import {pathToFileURL} from 'node:url'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'

const ROOT = packageRoot()
const DIST = join(ROOT, 'dist')

/** The built (dist/) module of every .ts source file under a folder (so that stale files in dist/ do not count). */
async function builtModules(folder: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, folder), {recursive: true, withFileTypes: true})
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(DIST, relative(ROOT, e.parentPath), e.name.replace(/\.ts$/, '.js')))
}

/**
 * Imports `modules` in a fresh Node process whose module resolution is recorded by a loader hook, and returns
 * every URL Node resolved (node: built-ins included), relative to the package root where they are files.
 */
async function loadedBy(work: string, modules: readonly string[]): Promise<string[]> {
  const log = join(work, `resolved-${Math.random().toString(36).slice(2)}.txt`)
  const hooks = join(work, 'record-hooks.mjs')
  await writeFile(
    hooks,
    [
      "import {appendFileSync} from 'node:fs'",
      'let log',
      'export function initialize(data) { log = data.log }',
      // appended synchronously before the module is loaded: once import() settles, every resolution is in the file
      "export async function resolve(specifier, context, next) { const r = await next(specifier, context); appendFileSync(log, r.url + '\\n'); return r }",
    ].join('\n'),
  )
  const main = [
    "import {register} from 'node:module'",
    `register(${JSON.stringify(pathToFileURL(hooks).href)}, {data: {log: ${JSON.stringify(log)}}})`,
    `for (const m of ${JSON.stringify(modules.map((m) => pathToFileURL(m).href))}) await import(m)`,
  ].join('\n')
  await execa(process.execPath, ['--input-type=module', '-e', main], {cwd: ROOT})
  const urls = (await readFile(log, 'utf8')).split('\n').filter((u) => u !== '')
  return [...new Set(urls.map((u) => (u.startsWith('file:') ? relative(ROOT, new URL(u).pathname) : u)))]
}

const pythonSide = (path: string): boolean => path.startsWith('dist/src/python/') || /(^|\/)node_modules\/execa\//.test(path)

describe('the no-Python runtime loads without the Python job runner (fresh Node process, dist/)', () => {
  let work: string
  beforeAll(async () => {
    if (!existsSync(join(DIST, 'src', 'engine', 'engine-model.js')))
      throw new Error('dist/ is not built: run `npx tsc -p tsconfig.json` first (npm test does)')
    work = await mkdtemp(join(tmpdir(), 'pockettts-runtime-load-'))
  })
  afterAll(async () => {
    await rm(work, {recursive: true, force: true})
  })

  it('the probe sees execa when a module does load it (src/python)', async () => {
    const loaded = await loadedBy(work, [join(DIST, 'src', 'python', 'index.js')])
    expect(loaded.filter(pythonSide)).toEqual(
      expect.arrayContaining(['dist/src/python/index.js', expect.stringMatching(/node_modules\/execa\/index\.js$/)]),
    )
  })

  it(
    'every module of engine, flowlm, mimi (but the worker entry), onnx, text, audio, voice, server and ' +
      'batch (but its worker entry), and the synth, serve, batch and worker commands: no src/python, no ' +
      'execa',
    async () => {
      const runtime = (
        await Promise.all(
          ['engine', 'flowlm', 'mimi', 'onnx', 'text', 'audio', 'voice', 'server', 'batch'].map((f) => builtModules(join('src', f))),
        )
      ).flat()
      // the worker entries refuse to run outside a worker thread or process; their imports are in the dependency rules
      const modules = [
        ...runtime.filter((m) => !m.endsWith('mimi-worker-main.js') && !m.endsWith('batch-worker-main.js')),
        join(DIST, 'commands', 'synth.js'),
        join(DIST, 'commands', 'serve.js'),
        join(DIST, 'commands', 'batch.js'),
        join(DIST, 'commands', 'worker.js'),
      ]
      const loaded = await loadedBy(work, modules)
      expect(loaded).toEqual(
        expect.arrayContaining([
          'dist/src/engine/engine-model.js',
          'dist/src/engine/synthesize.js',
          'dist/src/server/create-server.js',
          'dist/commands/synth.js',
          'dist/src/batch/run-batch.js',
          'dist/commands/batch.js',
          'dist/src/batch/queue/run-queue-worker.js',
          'dist/commands/worker.js',
        ]),
      )
      expect(loaded.filter(pythonSide)).toEqual([])
    },
  )
})
