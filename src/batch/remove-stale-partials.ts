import {readdir, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {isProcessAlive} from './is-process-alive.js'

/** The temporary name the WAV writer gives an output while writing it: `.<file>.<pid>.<8 hex>.partial`. */
const PARTIAL = /^\.(.+)\.(\d+)\.[0-9a-f]{8}\.partial$/

/**
 * Removes the half-written outputs a killed run left in the output folder (temporary files of `files` whose
 * writing process is gone). Files of a process that is still alive are left alone. Returns the names removed.
 */
export async function removeStalePartials(dir: string, files: ReadonlySet<string>): Promise<string[]> {
  const removed: string[] = []
  for (const name of await readdir(dir)) {
    const match = PARTIAL.exec(name)
    if (match === null || !files.has(match[1] ?? '')) continue
    if (isProcessAlive(Number(match[2]))) continue
    await rm(join(dir, name), {force: true})
    removed.push(name)
  }
  return removed
}
