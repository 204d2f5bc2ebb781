import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {statfs} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'
import type {DoctorCheck} from './doctor-check.js'

const GiB = 1024 ** 3

/** Free space on the disk where models go (the nearest existing parent of the folder). */
export async function checkDisk(modelsDir: string): Promise<DoctorCheck> {
  let dir = resolve(modelsDir)
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir)
  const stats = await statfs(dir)
  const free = stats.bavail * stats.bsize
  const status = free < 0.25 * GiB ? 'fail' : free < 2 * GiB ? 'warn' : 'pass'
  return {
    id: 'disk',
    title: 'Disk space for models',
    status,
    detail: `${(free / GiB).toFixed(1)} GiB free at ${dir}`,
    ...(status === 'pass'
      ? {}
      : {hint: 'Real weights need ~0.5 GB per language and ~0.5 GB per export; free some space or set --models-dir elsewhere.'}),
    required: status === 'fail',
  }
}

/** The models folder and its lock file. */
export function checkModelsFolder(modelsDir: string): DoctorCheck {
  const dir = resolve(modelsDir)
  if (!existsSync(dir)) {
    return {
      id: 'models',
      title: 'Models folder',
      status: 'warn',
      detail: `${dir} does not exist yet (synth uses the embedded fixture model)`,
      hint: 'Run `pockettts model download` to fetch real weights when the model hub is reachable.',
      required: false,
    }
  }
  const entries = readdirSync(dir, {withFileTypes: true}).filter((e) => e.isDirectory())
  const lockPath = join(dir, 'pockettts.lock.json')
  if (!existsSync(lockPath)) {
    return {
      id: 'models',
      title: 'Models folder',
      status: 'warn',
      detail: `${dir}: ${entries.length} folder(s), no lock file`,
      hint: 'Run `pockettts model download` to write pockettts.lock.json.',
      required: false,
    }
  }
  try {
    const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as {files?: unknown[]}
    return {
      id: 'models',
      title: 'Models folder',
      status: 'pass',
      detail: `${dir}: lock file lists ${Array.isArray(lock.files) ? lock.files.length : 0} file(s)`,
      required: false,
    }
  } catch (error) {
    return {
      id: 'models',
      title: 'Models folder',
      status: 'fail',
      detail: `${lockPath} is not valid JSON: ${(error as Error).message}`,
      hint: 'Restore the lock file or delete it and run `pockettts model download` again.',
      required: true,
    }
  }
}
