import {mkdir} from 'node:fs/promises'
import {dirname, resolve} from 'node:path'
import type {BatchItem} from './batch-item.js'
import {readBatchManifest, type BatchManifest} from './batch-manifest.js'
import {checkVoices} from './check-voices.js'
import {acquireOutputLock, type OutputLock} from './output-lock.js'
import {planBatch, type BatchPlan} from './plan-batch.js'
import {readCorpus, type CorpusDefaults} from './read-corpus.js'

export interface PrepareBatchParams {
  readonly corpus: string
  readonly outDir: string
  readonly modelDir: string
  readonly defaults: CorpusDefaults
  readonly signal?: AbortSignal
}

/** A batch ready to run: paths absolute, the corpus and its voices checked, the output folder locked, the plan made. */
export interface PreparedBatch {
  readonly corpus: string
  readonly outDir: string
  readonly model: string
  readonly items: readonly BatchItem[]
  /** The manifest as found (entries of items not in this corpus are kept). */
  readonly manifest: BatchManifest
  readonly plan: BatchPlan
  readonly lock: OutputLock
}

/**
 * What local and queued batches do first: the corpus and its voices are checked before anything is written, then
 * the output folder is created and locked and each item planned against its manifest (skip or make, and why).
 * The caller releases `lock`.
 */
export async function prepareBatch(params: PrepareBatchParams): Promise<PreparedBatch> {
  const corpus = resolve(params.corpus)
  const outDir = resolve(params.outDir)
  const model = resolve(params.modelDir)
  const read = await readCorpus({path: corpus, defaults: params.defaults})
  const items = await checkVoices({items: read, modelDir: model, baseDir: dirname(corpus), corpus})
  // nothing is written before this point
  await mkdir(outDir, {recursive: true})
  const lock = await acquireOutputLock(outDir)
  try {
    const manifest = await readBatchManifest(outDir)
    const plan = await planBatch({items, manifest, outDir, model, ...(params.signal === undefined ? {} : {signal: params.signal})})
    return {corpus, outDir, model, items, manifest, plan, lock}
  } catch (error) {
    await lock.release()
    throw error
  }
}
