/**
 * Entry of a batch worker process (forked by BatchWorkerPool): loads the model once, then makes the items the
 * parent sends, one at a time, and replies with what was made. It exits when the parent says stop or goes away
 * (a killed parent leaves no worker writing behind it).
 */
import {isPocketTtsError} from '../errors/index.js'
import {loadEngineModel, type EngineModel} from '../engine/engine-model.js'
import {
  BATCH_WORKER_ENV,
  type BatchWorkerData,
  type BatchWorkerReply,
  type BatchWorkerRequest,
  type ItemFailure,
} from './batch-worker-protocol.js'
import {synthesizeItem} from './synthesize-item.js'

const send = process.send?.bind(process)
const raw = process.env[BATCH_WORKER_ENV]
if (send === undefined || raw === undefined) throw new Error('batch-worker-main must run as a forked batch worker process')
const data = JSON.parse(raw) as BatchWorkerData

function failure(error: unknown, fallback: string): ItemFailure {
  if (isPocketTtsError(error)) return {code: error.code, message: error.message, ...(error.hint === undefined ? {} : {hint: error.hint})}
  return {code: fallback, message: error instanceof Error ? error.message : String(error)}
}

function reply(message: BatchWorkerReply): void {
  send?.(message)
}

const abort = new AbortController()
let model: EngineModel | undefined
let queue: Promise<void> = Promise.resolve()

async function shutdown(code: number): Promise<never> {
  abort.abort()
  await model?.release().catch(() => undefined)
  process.exit(code)
}

// Ctrl-C reaches the whole process group; SIGTERM comes from the parent cancelling. The item in flight is
// abandoned through its signal, so the writer removes its temporary file, then the worker exits.
const onStopSignal = (): void => {
  abort.abort()
  void queue.then(() => shutdown(0))
}
process.on('SIGINT', onStopSignal)
process.on('SIGTERM', onStopSignal)

process.on('disconnect', () => {
  // the parent is gone (killed or finished): stop at once, whatever is in flight
  process.exit(0)
})

process.on('message', (message: BatchWorkerRequest) => {
  if (message.kind === 'stop') {
    void queue.then(() => shutdown(0))
    return
  }
  queue = queue.then(async () => {
    if (model === undefined) return
    try {
      reply({kind: 'done', job: message.job, result: await synthesizeItem(model, message.request, abort.signal)})
    } catch (error) {
      reply({kind: 'failed', job: message.job, error: failure(error, 'SYNTHESIS_FAILED')})
    }
  })
})

try {
  model = await loadEngineModel({dir: data.modelDir, mimiWorker: true, ...(data.threads === undefined ? {} : {threads: data.threads})})
  reply({kind: 'ready'})
} catch (error) {
  reply({kind: 'load-failed', error: failure(error, 'MODEL_LOAD_FAILED')})
  await shutdown(1)
}
