import {join} from 'node:path'
import {
  BATCH_MANIFEST_FILE,
  BATCH_MANIFEST_FORMAT,
  itemSettings,
  writeBatchManifest,
  type BatchManifest,
  type DoneEntry,
  type ManifestEntry,
} from './batch-manifest.js'
import type {ItemFailure, ItemRequest, ItemResult} from './batch-worker-protocol.js'
import type {PlannedItem, TodoReason} from './plan-batch.js'
import type {PreparedBatch} from './prepare-batch.js'

/** How one item ended (on a local worker process or a queue worker). */
export type ItemOutcome = {readonly ok: true; readonly result: ItemResult} | {readonly ok: false; readonly error: ItemFailure}

export type BatchEvent =
  | {readonly type: 'planned'; readonly total: number; readonly skipped: number; readonly todo: number}
  | {readonly type: 'item-start'; readonly id: string}
  | {
      readonly type: 'item-end'
      readonly id: string
      readonly ok: boolean
      /** Items of this run ended so far (made or failed), of `todo`. */
      readonly ended: number
      readonly todo: number
      readonly code?: string
      readonly message?: string
    }
  /** A queued item's attempt failed and the queue tries it again later (queue mode only). */
  | {readonly type: 'item-retry'; readonly id: string; readonly attempt: number; readonly attempts: number; readonly message: string}
  /** A queued item's worker stopped renewing its hold on it (killed or hung): it goes back to the queue for another worker. */
  | {readonly type: 'item-stalled'; readonly id: string}
  /** The number of workers connected to the queue, when it changes (queue mode only). */
  | {readonly type: 'queue-workers'; readonly count: number}

/** One item in the report: what happened to it in this run. */
export type BatchItemReport =
  | {readonly id: string; readonly status: 'made'; readonly reason: TodoReason; readonly entry: DoneEntry}
  | {readonly id: string; readonly status: 'skipped'; readonly entry: DoneEntry}
  | {
      readonly id: string
      readonly status: 'failed'
      readonly reason: TodoReason
      readonly code: string
      readonly message: string
      readonly hint?: string
    }

/** `pockettts batch --json` output. */
export interface BatchReport {
  readonly corpus: string
  readonly outDir: string
  readonly manifest: string
  readonly model: string
  /** Local worker processes; 0 in queue mode (the queue's workers made the items). */
  readonly jobs: number
  /** Queue mode: the queue (its URL without the password) and its name. */
  readonly queue?: {readonly url: string; readonly name: string}
  readonly total: number
  readonly made: number
  readonly skipped: number
  readonly failed: number
  /** Audio made in this run (trailing silence excluded), seconds. */
  readonly audioSeconds: number
  readonly elapsedMs: number
  /** Temporary files of a killed run or of a worker that died, removed. */
  readonly removedPartials: readonly string[]
  readonly items: readonly BatchItemReport[]
}

/** What a worker is asked to make for a planned item. */
export function itemRequest({item, path}: PlannedItem): ItemRequest {
  return {
    id: item.id,
    text: item.text,
    ...(item.voice === undefined ? {} : {voice: item.voice}),
    seed: item.seed,
    params: item.params,
    format: item.format,
    trailingSilence: item.trailingSilence,
    path,
  }
}

/**
 * Records item outcomes of one run in the output folder's manifest (replaced atomically after each, one write at
 * a time, each of the latest entries) and builds the run's report. Local and queued batches record the same way.
 */
export class BatchRecorder {
  private readonly entries: Record<string, ManifestEntry>
  private readonly outcomes = new Map<string, BatchItemReport>()
  private writes: Promise<void> = Promise.resolve()
  private ended = 0
  private audioSeconds = 0

  constructor(
    private readonly batch: PreparedBatch,
    private readonly onEvent?: (event: BatchEvent) => void,
  ) {
    this.entries = {...batch.manifest.items}
    for (const s of batch.plan.skipped) this.outcomes.set(s.item.id, {id: s.item.id, status: 'skipped', entry: s.entry})
    onEvent?.({type: 'planned', total: batch.items.length, skipped: batch.plan.skipped.length, todo: batch.plan.todo.length})
  }

  /** Records how a planned item ended, writes the manifest, then reports the item's end. */
  async record(planned: PlannedItem & {readonly reason: TodoReason}, outcome: ItemOutcome): Promise<void> {
    const {item, reason} = planned
    const settings = itemSettings(item, this.batch.model)
    const now = new Date().toISOString()
    if (outcome.ok) {
      const entry: DoneEntry = {
        status: 'done',
        id: item.id,
        file: item.file,
        ...outcome.result,
        finishedAt: now,
        settingsKey: planned.settingsKey,
        settings,
      }
      this.entries[item.id] = entry
      this.outcomes.set(item.id, {id: item.id, status: 'made', reason, entry})
      this.audioSeconds += outcome.result.audioSeconds
    } else {
      const {code, message, hint} = outcome.error
      this.entries[item.id] = {
        status: 'failed',
        id: item.id,
        code,
        message,
        ...(hint === undefined ? {} : {hint}),
        failedAt: now,
        settingsKey: planned.settingsKey,
        settings,
      }
      this.outcomes.set(item.id, {id: item.id, status: 'failed', reason, code, message, ...(hint === undefined ? {} : {hint})})
    }
    const manifest: BatchManifest = {format: BATCH_MANIFEST_FORMAT, updatedAt: new Date().toISOString(), items: {...this.entries}}
    const write = this.writes.then(async () => writeBatchManifest(this.batch.outDir, manifest))
    this.writes = write.catch(() => undefined)
    await write
    this.ended += 1
    this.onEvent?.({
      type: 'item-end',
      id: item.id,
      ok: outcome.ok,
      ended: this.ended,
      todo: this.batch.plan.todo.length,
      ...(outcome.ok ? {} : {code: outcome.error.code, message: outcome.error.message}),
    })
  }

  /** The run's report, items in corpus order (items not ended in this run are left out). */
  report(params: {
    readonly start: number
    readonly jobs: number
    readonly removedPartials: readonly string[]
    readonly queue?: BatchReport['queue']
  }): BatchReport {
    const {corpus, outDir, model, items} = this.batch
    const reports = items.map((item) => this.outcomes.get(item.id)).filter((r): r is BatchItemReport => r !== undefined)
    return {
      corpus,
      outDir,
      manifest: join(outDir, BATCH_MANIFEST_FILE),
      model,
      jobs: params.jobs,
      ...(params.queue === undefined ? {} : {queue: params.queue}),
      total: items.length,
      made: reports.filter((r) => r.status === 'made').length,
      skipped: reports.filter((r) => r.status === 'skipped').length,
      failed: reports.filter((r) => r.status === 'failed').length,
      audioSeconds: this.audioSeconds,
      elapsedMs: performance.now() - params.start,
      removedPartials: params.removedPartials,
      items: reports,
    }
  }
}
