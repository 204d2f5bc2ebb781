import {createHash} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import type {AudioFormat} from '../audio/index.js'
import type {GenerationParams} from '../engine/generation-params.js'
import {UsageError} from '../errors/index.js'
import {writeFileAtomic} from '../fs/write-file-atomic.js'
import type {BatchItem} from './batch-item.js'
import type {ItemResult} from './batch-worker-protocol.js'

export const BATCH_MANIFEST_FILE = 'batch-manifest.json'
export const BATCH_MANIFEST_FORMAT = 'pockettts-batch/1'

/** What an item was made with: a change of any of these makes the output stale. */
export interface ItemSettings {
  readonly model: string
  readonly text: string
  /** The voice as requested (a name of the model or an absolute file path); null = the model's default. */
  readonly voice: string | null
  readonly seed: number
  readonly params: GenerationParams
  readonly format: AudioFormat
  readonly trailingSilence: number
}

/** A finished item: its output file and what was made (the worker's ItemResult). */
export interface DoneEntry extends ItemResult {
  readonly status: 'done'
  readonly id: string
  readonly file: string
  readonly finishedAt: string
  /** sha256 of the canonical JSON of `settings`. */
  readonly settingsKey: string
  readonly settings: ItemSettings
}

/** An item whose synthesis failed. */
export interface FailedEntry {
  readonly status: 'failed'
  readonly id: string
  readonly code: string
  readonly message: string
  readonly hint?: string
  readonly failedAt: string
  readonly settingsKey: string
  readonly settings: ItemSettings
}

export type ManifestEntry = DoneEntry | FailedEntry

/** `DIR/batch-manifest.json`: every item made (or failed) in this folder, by id. */
export interface BatchManifest {
  readonly format: typeof BATCH_MANIFEST_FORMAT
  readonly updatedAt: string
  readonly items: Readonly<Record<string, ManifestEntry>>
}

export function itemSettings(item: BatchItem, model: string): ItemSettings {
  return {
    model,
    text: item.text,
    voice: item.voice ?? null,
    seed: item.seed,
    params: item.params,
    format: item.format,
    trailingSilence: item.trailingSilence,
  }
}

/** sha256 of the settings with sorted keys (stable across runs and key orders). */
export function settingsKey(settings: ItemSettings): string {
  return createHash('sha256').update(canonicalJson(settings)).digest('hex')
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

export function emptyManifest(): BatchManifest {
  return {format: BATCH_MANIFEST_FORMAT, updatedAt: new Date().toISOString(), items: {}}
}

/** Reads `DIR/batch-manifest.json`; an absent file is an empty manifest, an unreadable one an error. */
export async function readBatchManifest(dir: string): Promise<BatchManifest> {
  const path = join(dir, BATCH_MANIFEST_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyManifest()
    throw error
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  const manifest = parsed as Partial<BatchManifest> | undefined
  if (manifest?.format !== BATCH_MANIFEST_FORMAT || typeof manifest.items !== 'object' || manifest.items === null) {
    throw new UsageError({
      code: 'BATCH_MANIFEST_INVALID',
      message: `${path} is not a ${BATCH_MANIFEST_FORMAT} manifest.`,
      hint: 'Pick an empty or new --out folder, or delete that file to make every item again.',
      details: {path},
    })
  }
  return {format: BATCH_MANIFEST_FORMAT, updatedAt: String(manifest.updatedAt), items: manifest.items}
}

/** Replaces `DIR/batch-manifest.json` atomically (temporary file + rename): a kill leaves the old or the new one. */
export async function writeBatchManifest(dir: string, manifest: BatchManifest): Promise<void> {
  await writeFileAtomic({path: join(dir, BATCH_MANIFEST_FILE), data: `${JSON.stringify(manifest, null, 2)}\n`})
}
