import {createHash, randomBytes} from 'node:crypto'
import {hostname} from 'node:os'
import {readdir, rename, rm} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {hashFile} from '../../hub/hash-file.js'
import {isProcessAlive} from '../is-process-alive.js'

/** 8 hex digits naming this machine in temporary file names (a pid means something only on its own machine). */
export const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8)

/**
 * A queue worker's temporary outputs in a shared folder: `.<file>.<host tag>-<pid>.<8 hex>.queued`, and the WAV
 * writer's own temporary file of that (`.` + that name + `.<pid>.<8 hex>.partial`).
 */
const CANDIDATE = /^\.\.?(.+)\.([0-9a-f]{8})-(\d+)\.[0-9a-f]{8}\.queued(?:\.\d+\.[0-9a-f]{8}\.partial)?$/

/** Where a queue worker makes an output before placing it (beside it, so the final rename stays in one folder). */
export function candidatePath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${HOST_TAG}-${process.pid}.${randomBytes(4).toString('hex')}.queued`)
}

/**
 * Puts a finished candidate in place of `path`, unless `path` already holds the same bytes (an item made twice,
 * at-least-once): then the candidate is dropped and the output left as it was. Returns whether it was kept.
 */
export async function placeOutput(
  candidate: string,
  path: string,
  made: {readonly sha256: string; readonly bytes: number},
): Promise<{kept: boolean}> {
  let present: {size: number; sha256: string} | undefined
  try {
    present = await hashFile({path})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  if (present !== undefined && present.sha256 === made.sha256 && present.size === made.bytes) {
    await rm(candidate, {force: true})
    return {kept: true}
  }
  await rename(candidate, path)
  return {kept: false}
}

export interface RemoveCandidatesParams {
  readonly dir: string
  /** Only the temporary files of these outputs. */
  readonly files: ReadonlySet<string>
  /** True: every such file, whoever made it (no worker is making these outputs any more). False: only those of dead processes of this machine. */
  readonly all: boolean
}

/** Removes the temporary outputs queue workers left behind (a worker killed mid-item). Returns the names removed. */
export async function removeQueuedCandidates(params: RemoveCandidatesParams): Promise<string[]> {
  const removed: string[] = []
  let names: string[]
  try {
    names = await readdir(params.dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return removed
    throw error
  }
  for (const name of names) {
    const match = CANDIDATE.exec(name)
    if (match === null || !params.files.has(match[1] ?? '')) continue
    if (!params.all && (match[2] !== HOST_TAG || isProcessAlive(Number(match[3])))) continue
    await rm(join(params.dir, name), {force: true})
    removed.push(name)
  }
  return removed
}
