import {open, readFile, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {UsageError} from '../errors/index.js'
import {isProcessAlive} from './is-process-alive.js'

/** The lock file of a batch output folder: the pid of the run writing to it. */
export const BATCH_LOCK_FILE = '.batch-lock'

export interface OutputLock {
  readonly path: string
  release(): Promise<void>
}

/**
 * Takes the output folder for this process, so two runs never write the same manifest. A lock left by a
 * process that is gone (a killed run) is taken over; one held by a live process is BATCH_IN_PROGRESS.
 */
export async function acquireOutputLock(dir: string): Promise<OutputLock> {
  const path = join(dir, BATCH_LOCK_FILE)
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(path, 'wx')
      try {
        await handle.writeFile(`${JSON.stringify({pid: process.pid, startedAt: new Date().toISOString()})}\n`)
      } finally {
        await handle.close()
      }
      return {
        path,
        async release() {
          if ((await lockHolder(path)) === process.pid) await rm(path, {force: true})
        },
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const holder = await lockHolder(path)
    if (holder !== undefined && holder !== process.pid && isProcessAlive(holder)) {
      throw new UsageError({
        code: 'BATCH_IN_PROGRESS',
        message: `Another pockettts batch (pid ${holder}) is writing to ${dir}.`,
        hint: `Wait for it to end, or pick another --out folder. If no batch is running, delete ${path}.`,
        details: {dir, pid: holder},
      })
    }
    // left by a run that is gone (or by this process): take it over
    await rm(path, {force: true})
  }
  throw new UsageError({
    code: 'BATCH_IN_PROGRESS',
    message: `Could not take the lock ${path}: another run keeps taking it.`,
    hint: 'Make sure one batch at a time writes to this folder.',
    details: {dir},
  })
}

async function lockHolder(path: string): Promise<number | undefined> {
  try {
    const pid = (JSON.parse(await readFile(path, 'utf8')) as {pid?: unknown}).pid
    return typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}
