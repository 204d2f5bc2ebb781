import {existsSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'
import {recordModuleLoads} from '../helpers/record-module-loads.js'

const ROOT = packageRoot()

/**
 * Packages a command loads only where it uses them (issue 17: peak RSS). oclif imports every command's module to
 * list the commands, so a package imported at the top of any command is in every process's memory.
 */
const HEAVY = {
  encoders: ['@breezystack/lamejs', 'opusscript', 'libflacjs', '@ffmpeg/core'],
  queue: ['bullmq', 'ioredis'],
  server: ['fastify', '@fastify/cors', '@fastify/multipart', 'prom-client'],
  hub: ['@huggingface/hub', 'tar'],
  python: ['execa'],
  engine: ['onnxruntime-node', 'tokenizers', '@sctg/sentencepiece-js'],
} as const

/** The node_modules packages among resolved URLs (their names, scoped ones included). */
function packagesOf(urls: readonly string[]): Set<string> {
  const names = new Set<string>()
  for (const url of urls) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
    if (m !== null) names.add(m[1]!)
  }
  return names
}

/** Runs `bin/run.js args` in a fresh Node process whose module resolution is recorded; returns the packages it loaded. */
async function packagesLoadedBy(work: string, args: readonly string[]): Promise<Set<string>> {
  const run = await recordModuleLoads({work, argv: [join(ROOT, 'bin', 'run.js'), ...args], cwd: ROOT})
  expect(run.exitCode, `${args.join(' ')}: ${run.stderr}`).toBe(0)
  return packagesOf(run.urls)
}

describe('commands load what they use, when they use it (fresh processes of bin/run.js, dist/)', () => {
  let work: string
  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'commands', 'synth.js')))
      throw new Error('dist/ is not built: run `npm run build` first (npm test does)')
    work = await mkdtemp(join(tmpdir(), 'pockettts-lazy-load-'))
  })
  afterAll(async () => {
    await rm(work, {recursive: true, force: true})
  })

  it('--version (oclif imports every command module): no encoder, queue, server, hub, Python runner or engine package', async () => {
    const loaded = await packagesLoadedBy(work, ['--version'])
    expect(loaded.has('@oclif/core')).toBe(true) // the probe sees packages
    const all = Object.values(HEAVY).flat()
    expect(all.filter((p) => loaded.has(p))).toEqual([])
  })

  it('synth --format wav16 loads the engine but no compressed-audio encoder, queue, server, hub or Python runner', async () => {
    const out = join(work, 'a.wav')
    const loaded = await packagesLoadedBy(work, ['synth', 'Hello.', '--out', out, '--format', 'wav16', '--seed', '1'])
    expect(loaded.has('onnxruntime-node')).toBe(true)
    const unneeded = [...HEAVY.encoders, ...HEAVY.queue, ...HEAVY.server, ...HEAVY.hub, ...HEAVY.python]
    expect(unneeded.filter((p) => loaded.has(p))).toEqual([])
  })

  it('synth --format mp3 does load its encoder (lamejs), and only that one', async () => {
    const loaded = await packagesLoadedBy(work, ['synth', 'Hello.', '--out', join(work, 'a.mp3'), '--format', 'mp3', '--seed', '1'])
    expect(loaded.has('@breezystack/lamejs')).toBe(true)
    expect(['opusscript', 'libflacjs', '@ffmpeg/core'].filter((p) => loaded.has(p))).toEqual([])
  })

  it('bench without --against: no Python runner (execa), encoder, queue, server or hub', async () => {
    const loaded = await packagesLoadedBy(work, ['bench', '--runs', '1', '--warmup', '0', '--frames', '4', '--no-probe', '--json'])
    expect(loaded.has('onnxruntime-node')).toBe(true)
    const unneeded = [...HEAVY.encoders, ...HEAVY.queue, ...HEAVY.server, ...HEAVY.hub, ...HEAVY.python]
    expect(unneeded.filter((p) => loaded.has(p))).toEqual([])
  })
})
