import {Queue, QueueEvents} from 'bullmq'
import {Redis, type RedisOptions} from 'ioredis'
import {CancelledError, UsageError} from '../../errors/index.js'
import {hashFile} from '../../hub/hash-file.js'
import {BatchRecorder, itemRequest, type BatchEvent, type BatchReport, type ItemOutcome} from '../batch-recorder.js'
import type {ItemResult} from '../batch-worker-protocol.js'
import type {PlannedItem, TodoReason} from '../plan-batch.js'
import {prepareBatch} from '../prepare-batch.js'
import type {CorpusDefaults} from '../read-corpus.js'
import {probeQueue} from './probe-queue.js'
import {
  QUEUE_JOB_FORMAT,
  asQueueJobData,
  decodeFailure,
  jobIdOf,
  jobOptions,
  modelKey,
  type QueueJobData,
  type QueueJobResult,
  type RetryPolicy,
} from './queue-job.js'
import type {QueueUrl} from './queue-url.js'
import {removeQueuedCandidates} from './queued-output.js'

export interface SubmitBatchParams {
  readonly corpus: string
  /** The shared output folder, as this machine sees it. */
  readonly outDir: string
  readonly modelDir: string
  readonly defaults: CorpusDefaults
  readonly url: QueueUrl
  readonly queueName: string
  readonly retry: RetryPolicy
  /** How often the jobs' states are read besides the queue's events (a missed event is caught up). */
  readonly pollMs?: number
  readonly signal?: AbortSignal
  readonly onEvent?: (event: BatchEvent) => void
}

type Planned = PlannedItem & {readonly reason: TodoReason}

/**
 * `batch --queue`: plans the corpus against the output folder as a local batch does, enqueues each item to make
 * (job id = item id: enqueueing again never duplicates a job), then follows the jobs until each has ended,
 * recording every outcome in the manifest as it comes (only this process writes the manifest). Ctrl-C stops
 * following; the queued jobs go on, and running the same command again picks up their results.
 */
export async function submitBatch(params: SubmitBatchParams): Promise<BatchReport> {
  const start = performance.now()
  // a wrong URL fails before anything is written
  await probeQueue(params.url)
  const batch = await prepareBatch(params)
  const queueInfo = {url: params.url.display, name: params.queueName}
  try {
    const recorder = new BatchRecorder(batch, params.onEvent)
    let removedPartials: string[] = []
    if (batch.plan.todo.length > 0) {
      await followJobs(params, batch.outDir, await modelKey(batch.model), batch.plan.todo, recorder)
      // every job has ended: what workers killed mid-item left in the folder is nobody's any more
      removedPartials = await removeQueuedCandidates({
        dir: batch.outDir,
        files: new Set(batch.plan.todo.map((t) => t.item.file)),
        all: true,
      })
    }
    return recorder.report({start, jobs: 0, removedPartials, queue: queueInfo})
  } finally {
    await batch.lock.release()
  }
}

async function followJobs(
  params: SubmitBatchParams,
  outDir: string,
  key: string,
  todo: readonly Planned[],
  recorder: BatchRecorder,
): Promise<void> {
  const connection = {...params.url.redis, maxRetriesPerRequest: null}
  const queue = new Queue<QueueJobData, QueueJobResult>(params.queueName, {connection})
  // connection drops are retried by the clients; the states are read again once they are back
  queue.on('error', () => undefined)
  // the events are read from the stream's last entry before the first job is added: no event of this run is missed
  // (QueueEvents' default, the entries after its first read, lost the retry of a job that failed before that read)
  const events = new QueueEvents(params.queueName, {connection, lastEventId: await lastEventId(queue, connection)})
  events.on('error', () => undefined)
  try {
    await events.waitUntilReady()
    const pending = new Map<string, Planned>()
    // attempts a job had made before this run followed it (0 for a job this run added)
    const attemptsBefore = new Map<string, number>()
    for (const planned of todo) {
      if (params.signal?.aborted === true) throw cancelled()
      const data: QueueJobData = {
        format: QUEUE_JOB_FORMAT,
        request: withoutPath(itemRequest(planned)),
        file: planned.item.file,
        outDir,
        settingsKey: planned.settingsKey,
        modelKey: key,
      }
      const jobId = jobIdOf(planned.item.id)
      attemptsBefore.set(jobId, await enqueue(queue, data, planned, params.retry))
      pending.set(jobId, planned)
    }
    await new Promise<void>((resolve, reject) => {
      const settling = new Set<string>()
      const again = new Set<string>()
      // each job's retry notes, in order; a job's outcome is recorded only after them
      const notes = new Map<string, Promise<void>>()
      const retriesSeen = new Map<string, number>()
      let ended = false
      let workers = -1
      const finish = (error?: unknown): void => {
        if (ended) return
        ended = true
        clearInterval(poll)
        params.signal?.removeEventListener('abort', onAbort)
        if (error === undefined) resolve()
        else reject(error)
      }
      const settle = async (jobId: string): Promise<void> => {
        const planned = pending.get(jobId)
        if (ended || planned === undefined) return
        if (settling.has(jobId)) {
          // an event came while the state was being read: read it again after
          again.add(jobId)
          return
        }
        settling.add(jobId)
        try {
          const outcome = await jobOutcome(queue, jobId, planned, outDir)
          if (outcome === undefined || ended || !pending.delete(jobId)) return
          await notes.get(jobId)
          await recorder.record(planned, outcome)
          if (pending.size === 0) finish()
        } finally {
          settling.delete(jobId)
          if (again.delete(jobId)) guard(settle(jobId))
        }
      }
      // an attempt failed and the queue tries the job again later: said with the attempt's reason, before the job's
      // outcome (a short backoff can end the job while its job record is still being read)
      const noteRetry = (jobId: string): Promise<void> => {
        const planned = pending.get(jobId)
        if (planned === undefined) return Promise.resolve()
        const retry = (retriesSeen.get(jobId) ?? 0) + 1
        retriesSeen.set(jobId, retry)
        const note = (notes.get(jobId) ?? Promise.resolve()).then(async () => {
          const job = await queue.getJob(jobId)
          if (job === undefined) return
          params.onEvent?.({
            type: 'item-retry',
            id: planned.item.id,
            attempt: (attemptsBefore.get(jobId) ?? 0) + retry,
            attempts: job.opts.attempts ?? params.retry.attempts,
            message: decodeFailure(job.failedReason).message,
          })
        })
        notes.set(jobId, note)
        return note
      }
      const guard = (work: Promise<void>): void => {
        work.catch((error: unknown) => finish(error))
      }
      const checkWorkers = async (): Promise<void> => {
        const count = await queue.getWorkersCount().catch(() => workers)
        if (count !== workers) params.onEvent?.({type: 'queue-workers', count})
        workers = count
      }
      events.on('active', ({jobId}) => {
        const planned = pending.get(jobId)
        if (planned !== undefined) params.onEvent?.({type: 'item-start', id: planned.item.id})
      })
      events.on('completed', ({jobId}) => guard(settle(jobId)))
      events.on('failed', ({jobId}) => guard(settle(jobId)))
      // a failed attempt goes back to the queue: delayed (backoff), or waiting at once (no backoff)
      events.on('delayed', ({jobId}) => guard(noteRetry(jobId)))
      events.on('waiting', ({jobId, prev}) => {
        if (prev === 'failed') guard(noteRetry(jobId))
      })
      // its worker stopped renewing its lock (killed, hung): another worker takes it over
      events.on('stalled', ({jobId}) => {
        const planned = pending.get(jobId)
        if (planned !== undefined) params.onEvent?.({type: 'item-stalled', id: planned.item.id})
      })
      // events are not replayed after a reconnection: the states are read again now and then
      const poll = setInterval(() => {
        guard(checkWorkers())
        for (const jobId of [...pending.keys()]) guard(settle(jobId))
      }, params.pollMs ?? 2000)
      const onAbort = (): void => finish(cancelled())
      params.signal?.addEventListener('abort', onAbort, {once: true})
      guard(checkWorkers())
      // jobs that had ended before this run (a rerun after Ctrl-C) settle at once
      for (const jobId of [...pending.keys()]) guard(settle(jobId))
    })
  } finally {
    await events.close().catch(() => undefined)
    await queue.close().catch(() => undefined)
  }
}

/**
 * Adds the job of an item, unless the queue already holds it for this same make (same settings, model and
 * folder): then it is followed as it is, waiting, running or finished (a finished one only when the output in
 * the folder is still the one it made). A job of the same id left by another batch is replaced, unless a worker
 * is making it now. Returns the attempts the followed job had already made (0 for a job added now).
 */
async function enqueue(
  queue: Queue<QueueJobData, QueueJobResult>,
  data: QueueJobData,
  planned: Planned,
  retry: RetryPolicy,
): Promise<number> {
  const jobId = jobIdOf(data.request.id)
  // the state before the job (as in jobOutcome)
  const state = await queue.getJobState(jobId)
  const existing = state === 'unknown' ? undefined : await queue.getJob(jobId)
  if (existing !== undefined) {
    const old = asQueueJobData(existing.data)
    const same = old !== undefined && old.settingsKey === data.settingsKey && old.outDir === data.outDir && old.modelKey === data.modelKey
    if (same && state !== 'failed' && state !== 'completed') return existing.attemptsMade
    if (same && state === 'completed' && (await outputMatches(planned.path, asJobResult(existing.returnvalue))))
      return existing.attemptsMade
    if (state === 'active') throw conflict(data, queue.name)
    try {
      await existing.remove()
    } catch {
      throw conflict(data, queue.name)
    }
  }
  await queue.add('item', data, jobOptions(data.request.id, retry))
  return 0
}

/** The id of the queue's last event, or the stream's start when it has none yet (one short connection: BullMQ's
 * client interface has no XREVRANGE). */
async function lastEventId(queue: Queue<QueueJobData, QueueJobResult>, connection: RedisOptions): Promise<string> {
  const client = new Redis(connection)
  client.on('error', () => undefined) // the command's own rejection says it
  try {
    const [last] = await client.xrevrange(queue.toKey('events'), '+', '-', 'COUNT', 1)
    return last?.[0] ?? '0-0'
  } finally {
    client.disconnect()
  }
}

/** How a job ended, or undefined while it has not (waiting, running, or waiting for a retry). */
async function jobOutcome(
  queue: Queue<QueueJobData, QueueJobResult>,
  jobId: string,
  planned: Planned,
  outDir: string,
): Promise<ItemOutcome | undefined> {
  // the state first, then the job: read the other way round, a job read while it ran could be seen failed or
  // completed without its reason or result
  const state = await queue.getJobState(jobId)
  if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return undefined
  const job = await queue.getJob(jobId)
  if (job === undefined || state === 'unknown') {
    return {
      ok: false,
      error: {
        code: 'BATCH_JOB_LOST',
        message: 'The job of this item is no longer in the queue (removed, or the queue was emptied).',
        hint: 'Run the same batch again: it enqueues the items not made.',
      },
    }
  }
  const data = asQueueJobData(job.data)
  if (data === undefined || data.settingsKey !== planned.settingsKey || data.outDir !== outDir) {
    return {
      ok: false,
      error: {
        code: 'BATCH_QUEUE_CONFLICT',
        message: 'Another batch replaced the job of this item in the queue (same item id, other settings or folder).',
        hint: 'Give concurrent batches with the same item ids different --queue-name values (and their workers the same).',
      },
    }
  }
  if (state === 'failed') return {ok: false, error: decodeFailure(job.failedReason)}
  const result = asJobResult(job.returnvalue)
  if (result === undefined)
    return {ok: false, error: {code: 'BATCH_JOB_INVALID', message: 'The worker returned no usable result for this item.'}}
  if (!(await outputMatches(planned.path, result))) {
    return {
      ok: false,
      error: {
        code: 'BATCH_OUTPUT_NOT_SHARED',
        message:
          `Worker ${job.returnvalue.worker} reported ${planned.item.file} made (sha256 ${result.sha256.slice(0, 12)}…), ` +
          `but ${planned.path} is missing or holds other bytes.`,
        hint: 'Workers must write to the folder this command reads: mount it on every worker machine and pass `pockettts worker --out` where it is mounted.',
      },
    }
  }
  return {ok: true, result}
}

async function outputMatches(path: string, result: ItemResult | undefined): Promise<boolean> {
  if (result === undefined) return false
  try {
    const hash = await hashFile({path})
    return hash.sha256 === result.sha256 && hash.size === result.bytes
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw error
  }
}

function asJobResult(value: unknown): ItemResult | undefined {
  const result = (value as Partial<QueueJobResult> | null | undefined)?.result as Partial<ItemResult> | undefined
  if (typeof result !== 'object' || result === null) return undefined
  const numbers = [result.bytes, result.frames, result.chunks, result.audioSeconds, result.fileSeconds, result.elapsedMs]
  if (typeof result.sha256 !== 'string' || typeof result.voiceLabel !== 'string' || numbers.some((n) => typeof n !== 'number'))
    return undefined
  const r = result as ItemResult
  // only the fields of an ItemResult reach the manifest
  return {
    sha256: r.sha256,
    bytes: r.bytes,
    frames: r.frames,
    chunks: r.chunks,
    audioSeconds: r.audioSeconds,
    fileSeconds: r.fileSeconds,
    voiceLabel: r.voiceLabel,
    elapsedMs: r.elapsedMs,
  }
}

function withoutPath(request: ReturnType<typeof itemRequest>): QueueJobData['request'] {
  const {path, ...rest} = request
  void path
  return rest
}

function conflict(data: QueueJobData, queueName: string): UsageError {
  return new UsageError({
    code: 'BATCH_QUEUE_CONFLICT',
    message: `Item "${data.request.id}" is being made on queue ${queueName} for another batch (other settings, model or output folder).`,
    hint: 'Wait for that batch to end, or run this one on another --queue-name (and its workers with the same).',
    details: {id: data.request.id, queue: queueName},
  })
}

function cancelled(): CancelledError {
  return new CancelledError({
    code: 'CANCELLED',
    message: 'Stopped following the queue; finished items are kept in the manifest, and the queued items are still being made.',
    hint: 'Run the same command again to follow them and record them.',
  })
}
