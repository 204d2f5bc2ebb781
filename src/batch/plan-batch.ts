import {hashFile} from '../hub/hash-file.js'
import {resolveConfinedPath} from '../fs/confined-path.js'
import type {BatchItem} from './batch-item.js'
import {itemSettings, settingsKey, type BatchManifest, type DoneEntry} from './batch-manifest.js'

/** Why an item is made in this run. */
export type TodoReason = 'new' | 'settings-changed' | 'output-missing' | 'output-altered' | 'failed-before'

export interface PlannedItem {
  readonly item: BatchItem
  /** Absolute output path inside the output folder. */
  readonly path: string
  readonly settingsKey: string
}

export interface BatchPlan {
  /** Items whose recorded output is present with its recorded sha256 and settings: not made again. */
  readonly skipped: ReadonlyArray<PlannedItem & {readonly entry: DoneEntry}>
  readonly todo: ReadonlyArray<PlannedItem & {readonly reason: TodoReason}>
}

export interface PlanBatchParams {
  readonly items: readonly BatchItem[]
  readonly manifest: BatchManifest
  readonly outDir: string
  readonly model: string
  readonly signal?: AbortSignal
}

/**
 * Decides per item: skip it (the manifest records it done with the same settings, and the file is there with
 * the recorded sha256) or make it, saying why. Output paths are confined to the output folder (no symlink out).
 */
export async function planBatch(params: PlanBatchParams): Promise<BatchPlan> {
  const skipped: Array<PlannedItem & {readonly entry: DoneEntry}> = []
  const todo: Array<PlannedItem & {readonly reason: TodoReason}> = []
  for (const item of params.items) {
    const path = resolveConfinedPath({root: params.outDir, path: item.file, namedBy: `corpus line ${item.line} (id "${item.id}")`})
    const key = settingsKey(itemSettings(item, params.model))
    const planned = {item, path, settingsKey: key}
    const entry = params.manifest.items[item.id]
    if (entry === undefined) todo.push({...planned, reason: 'new'})
    else if (entry.settingsKey !== key) todo.push({...planned, reason: 'settings-changed'})
    else if (entry.status === 'failed') todo.push({...planned, reason: 'failed-before'})
    else {
      const hash = await hashOrUndefined(path, params.signal)
      if (hash === undefined) todo.push({...planned, reason: 'output-missing'})
      else if (hash.sha256 !== entry.sha256 || hash.size !== entry.bytes || entry.file !== item.file)
        todo.push({...planned, reason: 'output-altered'})
      else skipped.push({...planned, entry})
    }
  }
  return {skipped, todo}
}

async function hashOrUndefined(path: string, signal: AbortSignal | undefined): Promise<{size: number; sha256: string} | undefined> {
  try {
    return await hashFile({path, ...(signal === undefined ? {} : {signal})})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}
