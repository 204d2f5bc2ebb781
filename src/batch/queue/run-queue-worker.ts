import {rm, stat} from 'node:fs/promises'
import {UnrecoverableError, Worker, type Job} from 'bullmq'
import {loadEngineModel} from '../../engine/engine-model.js'
import {ExitCode, isPocketTtsError, PrerequisiteError} from '../../errors/index.js'
import {resolveConfinedPath} from '../../fs/confined-path.js'
import type {ItemFailure} from '../batch-worker-protocol.js'
import {synthesizeItem} from '../synthesize-item.js'
import {probeQueue} from './probe-queue.js'
import {asQueueJobData, decodeFailure, encodeFailure, modelKey, type QueueJobResult} from './queue-job.js'
import type {QueueUrl} from './queue-url.js'
import type {WorkerLockSettings} from './worker-lock-settings.js'
import {HOST_TAG, candidatePath, placeOutput, removeQueuedCandidates} from './queued-output.js'

export interface RunQueueWorkerParams {
  readonly url: QueueUrl
  readonly queueName: string
  /** The exported model folder: the same export as the submitter's (checked per job by its manifest's sha256). */
  readonly modelDir: string
  readonly threads?: number
  /** The shared output folder as mounted here; undefined = the folder each job names (the submitter's path). */
  readonly outDir?: string
  readonly lock: WorkerLockSettings
  /** Aborting stops taking jobs; the job in hand is finished first. */
  readonly signal: AbortSignal
  readonly onEvent?: (event: WorkerEvent) => void
}

export type WorkerEvent =
  | {readonly type: 'ready'; readonly worker: string; readonly queue: string}
  | {readonly type: 'job-start'; readonly id: string; readonly attempt: number}
  | {readonly type: 'job-done'; readonly id: string; readonly seconds: number; readonly kept: boolean}
  | {readonly type: 'job-failed'; readonly id: string; readonly code: string; readonly message: string; readonly final: boolean}
  | {readonly type: 'stopping'}
  | {readonly type: 'queue-error'; readonly message: string}

/** `pockettts worker --json` output. */
export interface WorkerReport {
  readonly worker: string
  readonly queue: {readonly url: string; readonly name: string}
  readonly model: string
  /** Items made and placed. */
  readonly made: number
  /** Items made again whose identical output was already in place (left untouched). */
  readonly kept: number
  /** Failed attempts (retried by the queue, or final). */
  readonly failed: number
  readonly elapsedMs: number
}

/**
 * Makes queued batch items until `signal` aborts: loads the model once, then takes one job at a time from the
 * queue and makes it with the same code as a local batch worker, into a temporary file in the shared folder,
 * placed under its final name unless identical bytes are already there. A failure that would fail again (bad
 * input, another model) is final; others are retried by the queue with backoff. On abort the job in hand is
 * finished, then the worker leaves; a worker killed outright loses its job's lock and another worker takes it.
 */
export async function runQueueWorker(params: RunQueueWorkerParams): Promise<WorkerReport> {
  const start = performance.now()
  await probeQueue(params.url)
  const key = await modelKey(params.modelDir)
  const model = await loadEngineModel({
    dir: params.modelDir,
    mimiWorker: true,
    ...(params.threads === undefined ? {} : {threads: params.threads}),
  })
  const name = `${HOST_TAG}-${process.pid}`
  const counts = {made: 0, kept: 0, failed: 0}
  const emit = (event: WorkerEvent): void => params.onEvent?.(event)

  const processJob = async (job: Job): Promise<QueueJobResult> => {
    const data = asQueueJobData(job.data)
    if (data === undefined) {
      throw new UnrecoverableError(
        encodeFailure({
          code: 'BATCH_JOB_INVALID',
          message: `Job ${job.id ?? '?'} on queue ${params.queueName} is not a pockettts batch item.`,
        }),
      )
    }
    if (data.modelKey !== key) {
      throw new UnrecoverableError(
        encodeFailure({
          code: 'BATCH_MODEL_MISMATCH',
          message: `Worker ${name} runs another model export (${params.modelDir}) than the batch was submitted with.`,
          hint: 'Run every worker with --model pointing at a copy of the same export as the submitter (same manifest.json).',
        }),
      )
    }
    const dir = params.outDir ?? data.outDir
    const path = resolveConfinedPath({root: dir, path: data.file, namedBy: `queued item "${data.request.id}"`})
    // the submitter made the folder: a missing one is a share not mounted here (another worker may have it)
    const isDir = await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    )
    if (!isDir) {
      throw new PrerequisiteError({
        code: 'BATCH_OUT_MISSING',
        message: `Worker ${name} has no folder ${dir} to write item "${data.request.id}" to.`,
        hint:
          'Mount the shared output folder on this machine, and pass `pockettts worker --out` where it is mounted ' +
          "when its path differs from the submitter's.",
      })
    }
    await removeQueuedCandidates({dir, files: new Set([data.file]), all: false})
    const candidate = candidatePath(path)
    try {
      const result = await synthesizeItem(model, {...data.request, path: candidate})
      const {kept} = await placeOutput(candidate, path, result)
      return {result, worker: name, kept}
    } finally {
      await rm(candidate, {force: true})
    }
  }

  const worker = new Worker(
    params.queueName,
    async (job: Job) => {
      const id = asQueueJobData(job.data)?.request.id ?? String(job.id)
      emit({type: 'job-start', id, attempt: job.attemptsMade + 1})
      const t0 = performance.now()
      try {
        const out = await processJob(job)
        if (out.kept) counts.kept += 1
        else counts.made += 1
        emit({type: 'job-done', id, seconds: (performance.now() - t0) / 1000, kept: out.kept})
        return out
      } catch (error) {
        counts.failed += 1
        const failure = toFailure(error)
        // bad input fails the same way everywhere: no retry
        const final = error instanceof UnrecoverableError || (isPocketTtsError(error) && error.exitCode === ExitCode.usage)
        const attempts = job.opts.attempts ?? 1
        emit({type: 'job-failed', id, code: failure.code, message: failure.message, final: final || job.attemptsMade + 1 >= attempts})
        if (error instanceof UnrecoverableError) throw error
        throw final ? new UnrecoverableError(encodeFailure(failure)) : new Error(encodeFailure(failure))
      }
    },
    {
      connection: {...params.url.redis, maxRetriesPerRequest: null},
      name,
      concurrency: 1,
      autorun: false,
      lockDuration: params.lock.lockDurationMs,
      stalledInterval: params.lock.stalledIntervalMs,
      maxStalledCount: params.lock.maxStalledCount,
    },
  )
  // a lost connection is retried by the client, with the same error at each try: said once until it changes
  let lastError = ''
  worker.on('error', (error: Error) => {
    if (error.message !== lastError) emit({type: 'queue-error', message: error.message})
    lastError = error.message
  })
  worker.on('completed', () => {
    lastError = ''
  })
  try {
    await worker.waitUntilReady()
    emit({type: 'ready', worker: name, queue: params.queueName})
    const running = worker.run()
    const stopped = new Promise<void>((resolve) => {
      if (params.signal.aborted) resolve()
      else params.signal.addEventListener('abort', () => resolve(), {once: true})
    })
    await Promise.race([running, stopped])
    emit({type: 'stopping'})
  } finally {
    // waits for the job in hand to end, then closes the connections
    await worker.close()
    await model.release().catch(() => undefined)
  }
  return {
    worker: name,
    queue: {url: params.url.display, name: params.queueName},
    model: params.modelDir,
    ...counts,
    elapsedMs: performance.now() - start,
  }
}

function toFailure(error: unknown): ItemFailure {
  if (error instanceof UnrecoverableError) return decodeFailure(error.message)
  if (isPocketTtsError(error)) return {code: error.code, message: error.message, ...(error.hint === undefined ? {} : {hint: error.hint})}
  return {code: 'SYNTHESIS_FAILED', message: error instanceof Error ? error.message : String(error)}
}
