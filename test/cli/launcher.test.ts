import {execa} from 'execa'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import type {BenchReport} from '../../src/bench/index.js'
import {mallocSettings, nodeFlags} from '../../src/bench/machine-info.js'
import {packageRoot} from '../../src/config/project-paths.js'
import {runCli} from '../helpers/cli.js'

const benchArgs = [
  'bench',
  '--model',
  join(packageRoot(), 'fixtures', 'tiny-onnx'),
  '--frames',
  '2',
  '--runs',
  '1',
  '--warmup',
  '0',
  '--no-probe',
  '--json',
]
const withoutMalloc = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MALLOC_') && k !== 'GLIBC_TUNABLES'))

describe('the pockettts launcher (bin/run.js)', () => {
  it('run as an executable (as npx and the installed bin do), starts node with glibc malloc returning freed memory and using huge pages, and a small young generation', async () => {
    const run = await execa(join(packageRoot(), 'bin', 'run.js'), benchArgs, {
      reject: false,
      env: withoutMalloc,
      extendEnv: false,
      stdin: 'ignore',
    })
    expect(run.exitCode, run.stderr).toBe(0)
    const report = JSON.parse(run.stdout) as BenchReport
    expect(report.machine.malloc).toBe('MALLOC_MMAP_THRESHOLD_=65536 MALLOC_TRIM_THRESHOLD_=0 GLIBC_TUNABLES=glibc.malloc.hugetlb=1')
    expect(report.machine.nodeFlags).toContain('--max-semi-space-size=1')
  })

  it('run through `node bin/run.js`, leaves the environment as it is (the bench report says so)', async () => {
    const run = await runCli(benchArgs, {spawn: true})
    expect(run.exitCode, run.stderr).toBe(0)
    expect((JSON.parse(run.stdout) as BenchReport).machine.malloc).toBe(mallocSettings(process.env))
  })

  it("lists node's command-line flags, then those in NODE_OPTIONS", () => {
    expect(nodeFlags(['--max-semi-space-size=1'], {NODE_OPTIONS: ' --max-old-space-size=512  --trace-gc '})).toEqual([
      '--max-semi-space-size=1',
      '--max-old-space-size=512',
      '--trace-gc',
    ])
    expect(nodeFlags([], {})).toEqual([])
  })

  it('names only the malloc tunables that are set', () => {
    expect(mallocSettings({})).toBeNull()
    expect(mallocSettings({MALLOC_ARENA_MAX: '2', PATH: '/bin'})).toBe('MALLOC_ARENA_MAX=2')
    expect(mallocSettings({GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1'})).toBe('GLIBC_TUNABLES=glibc.malloc.hugetlb=1')
  })
})
