import {readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {availableParallelism, cpus, loadavg, totalmem} from 'node:os'
import type {MachineInfo} from './bench-report.js'

/** The machine line of a report: CPU, cores, memory, runtime versions and the load average right now. */
export function machineInfo(): MachineInfo {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGb: Math.round((totalmem() / 1e9) * 10) / 10,
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    onnxruntime: onnxruntimeVersion(),
    loadAverage: loadavg().map((v) => Math.round(v * 100) / 100),
    malloc: mallocSettings(process.env),
    nodeFlags: nodeFlags(process.execArgv, process.env),
  }
}

function onnxruntimeVersion(): string {
  try {
    const require = createRequire(import.meta.url)
    const pkg = JSON.parse(readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')) as {version?: string}
    return pkg.version ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

/**
 * The glibc malloc settings set in the environment, e.g. "MALLOC_MMAP_THRESHOLD_=65536 MALLOC_TRIM_THRESHOLD_=0
 * GLIBC_TUNABLES=glibc.malloc.hugetlb=1".
 */
export function mallocSettings(env: NodeJS.ProcessEnv): string | null {
  const set = ['MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_', 'MALLOC_ARENA_MAX', 'GLIBC_TUNABLES']
    .filter((k) => env[k] !== undefined)
    .map((k) => `${k}=${env[k]}`)
  return set.length === 0 ? null : set.join(' ')
}

/** Node's flags: those on its command line, then those in NODE_OPTIONS (how the Dockerfile sets them). */
export function nodeFlags(execArgv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  return [...execArgv, ...(env['NODE_OPTIONS'] ?? '').split(/\s+/).filter((flag) => flag !== '')]
}
