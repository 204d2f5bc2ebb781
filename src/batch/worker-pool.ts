import {rm} from 'node:fs/promises'
import {fork, type ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {packageRoot} from '../config/index.js'
import {CancelledError, ModelError, PocketTtsError} from '../errors/index.js'
import {
  BATCH_WORKER_ENV,
  type BatchWorkerData,
  type BatchWorkerReply,
  type BatchWorkerRequest,
  type ItemRequest,
} from './batch-worker-protocol.js'
import type {ItemOutcome} from './batch-recorder.js'

export interface RunOnWorkersParams {
  /** Worker processes; each loads the model once. */
  readonly jobs: number
  readonly data: BatchWorkerData
  readonly requests: readonly ItemRequest[]
  /** Called once per request as it ends (in completion order); awaited before the worker gets its next item. */
  readonly onOutcome: (index: number, outcome: ItemOutcome) => Promise<void>
  /** Called when a worker takes an item. */
  readonly onStart?: (index: number) => void
  /** Aborting stops the workers at once; items in flight get no outcome, and CancelledError is thrown. */
  readonly signal?: AbortSignal
}

interface Worker {
  readonly child: ChildProcess
  readonly stderr: string[]
  job: number | undefined
  exited: boolean
}

const STDERR_KEEP = 40

/**
 * Makes the requests on `jobs` worker processes, handing out the next request to whichever worker is free
 * (dynamic distribution: long items do not hold up the others). A worker that dies fails the item it held
 * (WORKER_EXITED) and the others go on; when none is left the remaining items fail the same way.
 */
export async function runOnWorkers(params: RunOnWorkersParams): Promise<void> {
  const {signal} = params
  const aborted = (): boolean => signal?.aborted === true
  if (aborted()) throw cancelled()
  const count = Math.max(1, Math.min(params.jobs, params.requests.length))
  const workers = await startWorkers(count, params.data, signal)
  let next = 0
  let settled = 0
  const total = params.requests.length
  // items in flight when a cancel came: their workers are stopped, and an output one of them may have renamed into
  // place just before is removed (it has no manifest entry)
  const abandoned = new Set<number>()
  try {
    await new Promise<void>((resolve, reject) => {
      let failedHard = false
      const finish = (): void => {
        if (settled === total) resolve()
      }
      const fail = (error: unknown): void => {
        if (failedHard) return
        failedHard = true
        reject(error)
      }
      // outcomes being recorded (the manifest being written) finish before a cancel is reported
      const recording = new Set<Promise<void>>()
      const onAbort = (): void => {
        for (const worker of workers) if (worker.job !== undefined) abandoned.add(worker.job)
        void Promise.allSettled([...recording]).then(() => fail(cancelled()))
      }
      signal?.addEventListener('abort', onAbort, {once: true})
      const settle = (worker: Worker | undefined, index: number, outcome: ItemOutcome): void => {
        const recorded = params.onOutcome(index, outcome)
        recording.add(recorded)
        recorded.then(
          () => {
            recording.delete(recorded)
            settled += 1
            if (worker !== undefined && !worker.exited) dispatch(worker)
            else if (workers.every((w) => w.exited)) drainWithoutWorkers()
            finish()
          },
          (error: unknown) => {
            recording.delete(recorded)
            fail(error)
          },
        )
      }
      const drainWithoutWorkers = (): void => {
        while (next < total) {
          const index = next
          next += 1
          settle(undefined, index, {
            ok: false,
            error: {code: 'WORKER_EXITED', message: 'Every batch worker process has exited; this item was not made.'},
          })
        }
      }
      const dispatch = (worker: Worker): void => {
        if (failedHard || aborted()) return
        if (next >= total) {
          worker.job = undefined
          return
        }
        const index = next
        next += 1
        worker.job = index
        params.onStart?.(index)
        const request = params.requests[index] as ItemRequest
        send(worker, {kind: 'item', job: index, request})
      }
      for (const worker of workers) {
        worker.child.on('message', (reply: BatchWorkerReply) => {
          if (reply.kind !== 'done' && reply.kind !== 'failed') return
          // after a cancel, an item abandoned by its worker is not an outcome
          if (worker.job !== reply.job || failedHard || aborted()) return
          worker.job = undefined
          settle(worker, reply.job, reply.kind === 'done' ? {ok: true, result: reply.result} : {ok: false, error: reply.error})
        })
        worker.child.on('exit', (code, sig) => {
          worker.exited = true
          const held = worker.job
          worker.job = undefined
          if (failedHard || aborted()) return
          if (held !== undefined) {
            const tail = worker.stderr.join('').trim().split('\n').slice(-3).join(' ')
            settle(undefined, held, {
              ok: false,
              error: {
                code: 'WORKER_EXITED',
                message: `The batch worker process exited (${sig ?? `code ${code}`}) while making this item.${tail === '' ? '' : ` ${tail}`}`,
                hint: 'Run again to retry it (finished items are kept). If it fails again, try it alone with `pockettts synth`.',
              },
            })
          } else if (workers.every((w) => w.exited)) drainWithoutWorkers()
        })
      }
      for (const worker of workers) dispatch(worker)
      finish()
    })
  } finally {
    await stopWorkers(workers, aborted())
    await Promise.all([...abandoned].map(async (index) => rm((params.requests[index] as ItemRequest).path, {force: true})))
  }
}

function cancelled(): CancelledError {
  return new CancelledError({code: 'CANCELLED', message: 'The batch was cancelled; finished items are kept in the manifest.'})
}

function send(worker: Worker, message: BatchWorkerRequest): void {
  if (!worker.exited && worker.child.connected) worker.child.send(message)
}

async function startWorkers(count: number, data: BatchWorkerData, signal: AbortSignal | undefined): Promise<Worker[]> {
  const script = workerScript()
  const workers: Worker[] = Array.from({length: count}, () => {
    const child = fork(script, [], {
      env: {...process.env, [BATCH_WORKER_ENV]: JSON.stringify(data)},
      execArgv: [],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    })
    const stderr: string[] = []
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (chunk: string) => {
      stderr.push(chunk)
      if (stderr.length > STDERR_KEEP) stderr.shift()
    })
    return {child, stderr, job: undefined, exited: false}
  })
  const ready = workers.map(
    (worker) =>
      new Promise<void>((resolve, reject) => {
        const onMessage = (reply: BatchWorkerReply): void => {
          if (reply.kind === 'ready') {
            worker.child.off('message', onMessage)
            resolve()
          } else if (reply.kind === 'load-failed') {
            worker.child.off('message', onMessage)
            reject(
              new ModelError({
                code: reply.error.code,
                message: reply.error.message,
                ...(reply.error.hint === undefined ? {} : {hint: reply.error.hint}),
              }),
            )
          }
        }
        worker.child.on('message', onMessage)
        worker.child.once('exit', (code) => {
          worker.exited = true
          reject(
            new ModelError({
              code: 'WORKER_EXITED',
              message: `A batch worker process exited (code ${code}) while loading the model. ${worker.stderr.join('').trim().slice(-500)}`,
              hint: 'Build the package (npm run build) and check the model with `pockettts synth`.',
            }),
          )
        })
        worker.child.once('error', reject)
      }),
  )
  const aborted = new Promise<never>((_, reject) => {
    if (signal === undefined) return
    signal.addEventListener('abort', () => reject(cancelled()), {once: true})
  })
  aborted.catch(() => undefined)
  try {
    await Promise.race([Promise.all(ready), aborted])
  } catch (error) {
    await stopWorkers(workers, true)
    throw error instanceof PocketTtsError ? error : new ModelError({code: 'WORKER_START_FAILED', message: String(error), cause: error})
  }
  return workers
}

/** Asks the workers to stop (or kills them), and waits until every one has exited. */
async function stopWorkers(workers: readonly Worker[], kill: boolean): Promise<void> {
  await Promise.all(
    workers.map(async (worker) => {
      if (worker.exited || worker.child.exitCode !== null || worker.child.signalCode !== null) return
      const exited = new Promise<void>((resolve) => worker.child.once('exit', () => resolve()))
      if (kill || !worker.child.connected) worker.child.kill('SIGTERM')
      else send(worker, {kind: 'stop'})
      await exited
    }),
  )
}

function workerScript(): string {
  const here = fileURLToPath(import.meta.url)
  const sibling = join(dirname(here), 'batch-worker-main.js')
  if (here.endsWith('.js') && existsSync(sibling)) return sibling
  const built = join(packageRoot(), 'dist', 'src', 'batch', 'batch-worker-main.js')
  if (existsSync(built)) return built
  throw new ModelError({
    code: 'BATCH_WORKER_MISSING',
    message: `The compiled batch worker (${built}) is missing.`,
    hint: 'Build the package first: npm run build.',
  })
}
