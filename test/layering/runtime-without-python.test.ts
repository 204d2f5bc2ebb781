import {existsSync} from 'node:fs'
import {mkdtemp, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'
import {pathToFileURL} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'
import {recordModuleLoads} from '../helpers/record-module-loads.js'

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
  const main = `for (const m of ${JSON.stringify(modules.map((m) => pathToFileURL(m).href))}) await import(m)`
  const run = await recordModuleLoads({work, argv: ['--input-type=module', '-e', main], cwd: ROOT})
  expect(run.exitCode, run.stderr).toBe(0)
  return [...new Set(run.urls.map((u) => (u.startsWith('file:') ? relative(ROOT, new URL(u).pathname) : u)))]
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
