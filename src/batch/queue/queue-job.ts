import {createHash} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {AUDIO_FORMATS} from '../../audio/index.js'
import {UsageError} from '../../errors/index.js'
import type {ItemFailure, ItemRequest, ItemResult} from '../batch-worker-protocol.js'

/** The queue that `batch --queue` and `worker` use unless told another (`--queue-name`). */
export const DEFAULT_QUEUE_NAME = 'pockettts-batch'
export const QUEUE_JOB_FORMAT = 'pockettts-batch-job/1'

/** A queued item: what to make and where, as the submitter resolved it. */
export interface QueueJobData {
  readonly format: typeof QUEUE_JOB_FORMAT
  /** The item, as a local worker gets it, without its output path. */
  readonly request: Omit<ItemRequest, 'path'>
  /** The output file name inside the output folder. */
  readonly file: string
  /** The submitter's output folder (a worker's `--out` replaces it). */
  readonly outDir: string
  /** sha256 of the item's settings (as the manifest records it): which make of the item this job is. */
  readonly settingsKey: string
  /** sha256 of the submitter's model manifest.json: a worker refuses a job for another model. */
  readonly modelKey: string
}

/** What a worker returns for a job. */
export interface QueueJobResult {
  readonly result: ItemResult
  /** The worker's name (host and pid). */
  readonly worker: string
  /** True when an identical output was already in place and left as it was (an item made twice). */
  readonly kept: boolean
}

/** How often an item is tried, and the first wait before a retry (doubled at each next one). */
export interface RetryPolicy {
  readonly attempts: number
  readonly backoffMs: number
}

export const DEFAULT_RETRY: RetryPolicy = {attempts: 3, backoffMs: 5000}

/** Finished jobs are kept this long (a rerun of the submitter reads their results instead of making them again). */
const KEEP_SECONDS = 7 * 24 * 3600

export function jobOptions(itemId: string, retry: RetryPolicy) {
  return {
    jobId: jobIdOf(itemId),
    attempts: retry.attempts,
    backoff: {type: 'exponential', delay: retry.backoffMs},
    removeOnComplete: {age: KEEP_SECONDS},
    removeOnFail: {age: KEEP_SECONDS},
  } as const
}

/** The job id of an item: its id; an all-digit id (which BullMQ refuses) gets a `#` before it (no item id starts with one). */
export function jobIdOf(itemId: string): string {
  return /^\d+$/.test(itemId) ? `#${itemId}` : itemId
}

/** Queue names: what Redis keys may hold without ambiguity. */
export function checkQueueName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw new UsageError({
      code: 'BATCH_QUEUE_NAME_INVALID',
      message: `--queue-name ${JSON.stringify(name)} is not usable: 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit.`,
      hint: `Leave it out (default "${DEFAULT_QUEUE_NAME}") or pass such a name, the same to the submitter and its workers.`,
    })
  }
  return name
}

/** sha256 of a model folder's manifest.json: the same export gives the same key on every machine. */
export async function modelKey(modelDir: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(join(modelDir, 'manifest.json')))
    .digest('hex')
}

/** Checks a job's data (it comes from Redis, written by any client); undefined when it is not a pockettts job. */
export function asQueueJobData(value: unknown): QueueJobData | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const data = value as Partial<Record<keyof QueueJobData, unknown>>
  const request = data.request as Partial<Record<keyof ItemRequest, unknown>> | undefined
  const ok =
    data.format === QUEUE_JOB_FORMAT &&
    typeof data.file === 'string' &&
    typeof data.outDir === 'string' &&
    typeof data.settingsKey === 'string' &&
    typeof data.modelKey === 'string' &&
    typeof request === 'object' &&
    request !== null &&
    typeof request.id === 'string' &&
    typeof request.text === 'string' &&
    (request.voice === undefined || typeof request.voice === 'string') &&
    typeof request.seed === 'number' &&
    typeof request.params === 'object' &&
    request.params !== null &&
    (AUDIO_FORMATS as readonly unknown[]).includes(request.format) &&
    typeof request.trailingSilence === 'number'
  return ok ? (value as QueueJobData) : undefined
}

/** A failure as a job's failed reason: `[CODE] message`, then `hint: ...` on the next line. */
export function encodeFailure(failure: ItemFailure): string {
  return `[${failure.code}] ${failure.message}${failure.hint === undefined ? '' : `\nhint: ${failure.hint}`}`
}

/** Reads a job's failed reason back (BullMQ's own reasons, such as a stalled job, get a code of their own). */
export function decodeFailure(reason: string | undefined): ItemFailure {
  const text = reason ?? ''
  const match = /^\[([A-Z][A-Z0-9_]*)\] ([^\n]*)(?:\nhint: ([\s\S]*))?$/.exec(text)
  if (match !== null) return {code: match[1] ?? 'JOB_FAILED', message: match[2] ?? '', ...(match[3] === undefined ? {} : {hint: match[3]})}
  if (/stalled more than/i.test(text)) {
    return {
      code: 'WORKER_STALLED',
      message: `Workers stopped (died or hung) while making this item too many times: ${text}`,
      hint: 'Check the workers (memory, kills), then run the same batch again to retry it.',
    }
  }
  return {code: 'JOB_FAILED', message: text === '' ? 'The queue job failed without a reason.' : text}
}
