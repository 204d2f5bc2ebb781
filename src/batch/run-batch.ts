import {mkdir} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'
import type {BatchItem} from './batch-item.js'
import {checkVoices} from './check-voices.js'
import {acquireOutputLock} from './output-lock.js'
import {
  BATCH_MANIFEST_FILE,
  itemSettings,
  readBatchManifest,
  writeBatchManifest,
  type BatchManifest,
  type DoneEntry,
  type ManifestEntry,
} from './batch-manifest.js'
import type {ItemRequest} from './batch-worker-protocol.js'
import {planBatch, type TodoReason} from './plan-batch.js'
import {readCorpus, type CorpusDefaults} from './read-corpus.js'
import {removeStalePartials} from './remove-stale-partials.js'
import {runOnWorkers} from './worker-pool.js'

export interface RunBatchParams {
  /** The JSONL corpus. */
  readonly corpus: string
  /** The output folder (created when missing, after the corpus is checked). */
  readonly outDir: string
  /** The exported model folder. */
  readonly modelDir: string
  readonly defaults: CorpusDefaults
  /** Worker processes. */
  readonly jobs: number
  /** onnxruntime intra-op threads per worker; undefined = the cores shared out between the workers. */
  readonly threads?: number
  readonly signal?: AbortSignal
  readonly onEvent?: (event: BatchEvent) => void
}

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
  readonly jobs: number
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

/**
 * Makes every item of a corpus that the output folder does not already hold: the corpus and its voices are
 * checked before anything is written; finished items (recorded output present with its sha256) are skipped;
 * the others are made on worker processes, each output renamed into place when complete and the manifest
 * replaced atomically after each item, so a killed run loses nothing finished. A failed item is recorded
 * with its error and the others go on.
 */
export async function runBatch(params: RunBatchParams): Promise<BatchReport> {
  const start = performance.now()
  const corpus = resolve(params.corpus)
  const outDir = resolve(params.outDir)
  const model = resolve(params.modelDir)
  const read = await readCorpus({path: corpus, defaults: params.defaults})
  const items = await checkVoices({items: read, modelDir: model, baseDir: dirname(corpus), corpus})
  // nothing is written before this point
  await mkdir(outDir, {recursive: true})
  const lock = await acquireOutputLock(outDir)
  try {
    return await runLocked(params, {start, corpus, outDir, model, items})
  } finally {
    await lock.release()
  }
}

interface Resolved {
  readonly start: number
  readonly corpus: string
  readonly outDir: string
  readonly model: string
  readonly items: readonly BatchItem[]
}

async function runLocked(params: RunBatchParams, resolved: Resolved): Promise<BatchReport> {
  const {start, corpus, outDir, model, items} = resolved
  const manifest = await readBatchManifest(outDir)
  const plan = await planBatch({items, manifest, outDir, model, ...(params.signal === undefined ? {} : {signal: params.signal})})
  const removedPartials = await removeStalePartials(outDir, new Set(plan.todo.map((t) => t.item.file)))
  params.onEvent?.({type: 'planned', total: items.length, skipped: plan.skipped.length, todo: plan.todo.length})

  const entries: Record<string, ManifestEntry> = {...manifest.items}
  const outcomes = new Map<string, BatchItemReport>()
  for (const s of plan.skipped) outcomes.set(s.item.id, {id: s.item.id, status: 'skipped', entry: s.entry})
  let ended = 0
  let audioSeconds = 0
  let writes: Promise<void> = Promise.resolve()
  if (plan.todo.length > 0) {
    const requests: ItemRequest[] = plan.todo.map(({item, path}) => ({
      id: item.id,
      text: item.text,
      ...(item.voice === undefined ? {} : {voice: item.voice}),
      seed: item.seed,
      params: item.params,
      format: item.format,
      trailingSilence: item.trailingSilence,
      path,
    }))
    await runOnWorkers({
      jobs: params.jobs,
      data: {modelDir: model, ...(params.threads === undefined ? {} : {threads: params.threads})},
      requests,
      ...(params.signal === undefined ? {} : {signal: params.signal}),
      onStart: (index) => params.onEvent?.({type: 'item-start', id: plan.todo[index]?.item.id ?? ''}),
      onOutcome: async (index, outcome) => {
        const planned = plan.todo[index]
        if (planned === undefined) return
        const {item, reason} = planned
        const settings = itemSettings(item, model)
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
          entries[item.id] = entry
          outcomes.set(item.id, {id: item.id, status: 'made', reason, entry})
          audioSeconds += outcome.result.audioSeconds
        } else {
          const {code, message, hint} = outcome.error
          entries[item.id] = {
            status: 'failed',
            id: item.id,
            code,
            message,
            ...(hint === undefined ? {} : {hint}),
            failedAt: now,
            settingsKey: planned.settingsKey,
            settings,
          }
          outcomes.set(item.id, {id: item.id, status: 'failed', reason, code, message, ...(hint === undefined ? {} : {hint})})
        }
        // one write at a time, each of the latest entries: a slow write never lands over a newer one
        const write = writes.then(async () => writeBatchManifest(outDir, snapshot(entries)))
        writes = write.catch(() => undefined)
        await write
        ended += 1
        params.onEvent?.({
          type: 'item-end',
          id: item.id,
          ok: outcome.ok,
          ended,
          todo: plan.todo.length,
          ...(outcome.ok ? {} : {code: outcome.error.code, message: outcome.error.message}),
        })
      },
    })
  }
  // the temporary files of workers that died (their items failed and are made again by the next run)
  const leftovers = plan.todo.length > 0 ? await removeStalePartials(outDir, new Set(plan.todo.map((t) => t.item.file))) : []
  const reports = items.map((item) => outcomes.get(item.id)).filter((r): r is BatchItemReport => r !== undefined)
  return {
    corpus,
    outDir,
    manifest: join(outDir, BATCH_MANIFEST_FILE),
    model,
    jobs: params.jobs,
    total: items.length,
    made: reports.filter((r) => r.status === 'made').length,
    skipped: reports.filter((r) => r.status === 'skipped').length,
    failed: reports.filter((r) => r.status === 'failed').length,
    audioSeconds,
    elapsedMs: performance.now() - start,
    removedPartials: [...removedPartials, ...leftovers],
    items: reports,
  }
}

function snapshot(entries: Record<string, ManifestEntry>): BatchManifest {
  return {format: 'pockettts-batch/1', updatedAt: new Date().toISOString(), items: {...entries}}
}
