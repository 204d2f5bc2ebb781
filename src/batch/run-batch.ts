import {BatchRecorder, itemRequest, type BatchEvent, type BatchReport} from './batch-recorder.js'
import {prepareBatch} from './prepare-batch.js'
import type {CorpusDefaults} from './read-corpus.js'
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

/**
 * Makes every item of a corpus that the output folder does not already hold: the corpus and its voices are
 * checked before anything is written; finished items (recorded output present with its sha256) are skipped;
 * the others are made on worker processes, each output renamed into place when complete and the manifest
 * replaced atomically after each item, so a killed run loses nothing finished. A failed item is recorded
 * with its error and the others go on.
 */
export async function runBatch(params: RunBatchParams): Promise<BatchReport> {
  const start = performance.now()
  const batch = await prepareBatch(params)
  try {
    const {plan, outDir, model} = batch
    const files = new Set(plan.todo.map((t) => t.item.file))
    const removedPartials = await removeStalePartials(outDir, files)
    const recorder = new BatchRecorder(batch, params.onEvent)
    if (plan.todo.length > 0) {
      await runOnWorkers({
        jobs: params.jobs,
        data: {modelDir: model, ...(params.threads === undefined ? {} : {threads: params.threads})},
        requests: plan.todo.map(itemRequest),
        ...(params.signal === undefined ? {} : {signal: params.signal}),
        onStart: (index) => params.onEvent?.({type: 'item-start', id: plan.todo[index]?.item.id ?? ''}),
        onOutcome: async (index, outcome) => {
          const planned = plan.todo[index]
          if (planned !== undefined) await recorder.record(planned, outcome)
        },
      })
    }
    // the temporary files of workers that died (their items failed and are made again by the next run)
    const leftovers = plan.todo.length > 0 ? await removeStalePartials(outDir, files) : []
    return recorder.report({start, jobs: params.jobs, removedPartials: [...removedPartials, ...leftovers]})
  } finally {
    await batch.lock.release()
  }
}
