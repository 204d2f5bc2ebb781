import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Worker} from 'node:worker_threads'
import {packageRoot} from '../config/index.js'
import {ModelError} from '../errors/index.js'
import type {ChainedState, DecodedFrame} from './mimi-decoder-stream.js'
import type {MimiWorkerData, MimiWorkerFailure, MimiWorkerReply, MimiWorkerRequest} from './mimi-worker-protocol.js'

export interface StartMimiDecodeWorkerParams {
  /** The exported model folder. */
  readonly dir: string
  /** File names of the two graphs inside `dir`. */
  readonly files: {readonly latent_to_mimi: string; readonly mimi_decoder: string}
  /** Every state of `mimi_decoder`, from the manifest's state table. */
  readonly states: readonly ChainedState[]
  readonly mimiInputDim: number
  readonly latentDim: number
  /** onnxruntime intra-op threads of the worker's sessions. @default 1 */
  readonly threads?: number
  /** @default false (see CreateSessionsParams.allowSpinning) */
  readonly allowSpinning?: boolean
  /** Most frames one call may decode; 1 for exports whose mimi_decoder takes one frame. @default 1 */
  readonly maxFrames?: number
}

/** A decoded frame and the worker's own time for it (latent_to_mimi + mimi_decoder), ms. */
export interface TimedFrame extends DecodedFrame {
  readonly ms: number
}

interface Pending {
  resolve(frame: TimedFrame): void
  reject(error: Error): void
}

/**
 * The Mimi decoder on its own thread. onnxruntime-node runs a session synchronously on the calling thread,
 * so two graphs only run at the same time from two threads: with Mimi in this worker, decoding frame k
 * overlaps the FlowLM step k+1 on the main thread (upstream does the same with a decoder thread).
 * Streams are independent decoder states; each stream's requests are served in order, a stream's first call since its
 * open or reset (its first audio) before other streams' waiting calls; one request may carry several consecutive
 * frames, decoded in one call.
 */
export class MimiDecodeWorker {
  private readonly pending = new Map<number, Pending>()
  private nextId = 0
  private nextStream = 0
  private failed: Error | undefined
  private closed = false
  private exited = false

  private constructor(
    private readonly worker: Worker,
    /** Most frames one decode call may carry (the export's mimi_decoder). */
    readonly maxFrames: number,
  ) {
    worker.on('message', (reply: MimiWorkerReply) => this.onReply(reply))
    worker.on('error', (error) => this.fail(workerError('The Mimi decoder worker crashed.', error)))
    worker.on('exit', (code) => {
      this.exited = true
      if (!this.closed) this.fail(workerError(`The Mimi decoder worker exited (code ${code}).`))
    })
  }

  /** Starts the worker and waits until its sessions are loaded. */
  static async start(params: StartMimiDecodeWorkerParams): Promise<MimiDecodeWorker> {
    const data: MimiWorkerData = {
      dir: params.dir,
      files: params.files,
      states: params.states,
      mimiInputDim: params.mimiInputDim,
      latentDim: params.latentDim,
      threads: params.threads ?? 1,
      allowSpinning: params.allowSpinning ?? false,
      maxFrames: params.maxFrames ?? 1,
    }
    const worker = new Worker(workerScript(), {workerData: data})
    const first = await new Promise<MimiWorkerReply>((resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', (error) => reject(workerError('The Mimi decoder worker failed to start.', error)))
    })
    if (first.kind !== 'ready') {
      await worker.terminate()
      throw first.kind === 'load-failed'
        ? fromFailure(first.error)
        : workerError(`The Mimi decoder worker sent ${first.kind} before ready.`)
    }
    worker.unref()
    return new MimiDecodeWorker(worker, data.maxFrames)
  }

  /** A fresh decoder state in the worker (upstream starts one per text chunk). */
  openStream(): MimiWorkerStream {
    const stream = this.nextStream
    this.nextStream += 1
    this.post({kind: 'open', stream})
    return new MimiWorkerStream(this, stream)
  }

  /** Releases the worker's sessions and stops it. */
  async release(): Promise<void> {
    if (this.closed) return
    if (this.exited) {
      this.closed = true
      return
    }
    const done = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()))
    this.worker.ref()
    if (this.failed === undefined) this.post({kind: 'shutdown'})
    this.closed = true
    const timer = setTimeout(() => void this.worker.terminate(), 5000)
    await done
    clearTimeout(timer)
  }

  /** @internal */
  post(request: MimiWorkerRequest): void {
    if (this.failed !== undefined) throw this.failed
    if (this.closed)
      throw new ModelError({code: 'MIMI_WORKER_CLOSED', message: 'The Mimi decoder worker was released.', hint: 'Load the model again.'})
    this.worker.postMessage(request)
  }

  /** @internal */
  decode(stream: number, latents: readonly Float32Array[], first = false): Promise<TimedFrame>[] {
    const ids = latents.map(() => {
      this.nextId += 1
      return this.nextId - 1
    })
    const results = ids.map((id) => new Promise<TimedFrame>((resolve, reject) => this.pending.set(id, {resolve, reject})))
    this.post({kind: 'decode', stream, ids, latents, first})
    this.worker.ref() // keep the process alive while a frame is outstanding
    return results
  }

  private onReply(reply: MimiWorkerReply): void {
    if (reply.kind !== 'decoded' && reply.kind !== 'decode-failed') return
    const waiting = this.pending.get(reply.id)
    this.pending.delete(reply.id)
    if (this.pending.size === 0 && !this.closed) this.worker.unref()
    if (waiting === undefined) return
    if (reply.kind === 'decoded') waiting.resolve({mimiInput: reply.mimiInput, audio: reply.audio, ms: reply.ms})
    else waiting.reject(fromFailure(reply.error))
  }

  private fail(error: Error): void {
    this.failed ??= error
    for (const waiting of this.pending.values()) waiting.reject(error)
    this.pending.clear()
  }
}

/** One decoder state inside the worker. */
export class MimiWorkerStream {
  /** No decode queued since the open or the last reset: the next call is a chunk's first audio. */
  private fresh = true

  constructor(
    private readonly owner: MimiDecodeWorker,
    readonly id: number,
  ) {}

  /** Queues one normalised latent [latentDim]; frames come back in the order they were queued. */
  decodeLatent(latent: Float32Array): Promise<TimedFrame> {
    return this.decodeLatents([latent])[0] as Promise<TimedFrame>
  }

  /**
   * Queues consecutive latents decoded in one call (at most the worker's `maxFrames`): one promise per frame.
   * The same audio as one by one up to float rounding; callers that want reproducible bytes group frames the
   * same way every time (generateAudio does).
   */
  decodeLatents(latents: readonly Float32Array[]): Promise<TimedFrame>[] {
    const first = this.fresh
    this.fresh = false
    return this.owner.decode(this.id, latents, first)
  }

  /** Restarts from the initial state (applies to latents queued after this call). */
  reset(): void {
    this.owner.post({kind: 'reset', stream: this.id})
    this.fresh = true
  }

  /** Forgets the state in the worker. */
  close(): void {
    try {
      this.owner.post({kind: 'close', stream: this.id})
    } catch {
      // a released or failed worker holds no state any more
    }
  }
}

/** The compiled worker entry: beside this module in dist/, or dist/ of the package when running from sources. */
function workerScript(): string {
  const here = fileURLToPath(import.meta.url)
  const sibling = join(dirname(here), 'mimi-worker-main.js')
  if (here.endsWith('.js') && existsSync(sibling)) return sibling
  const built = join(packageRoot(), 'dist', 'src', 'mimi', 'mimi-worker-main.js')
  if (existsSync(built)) return built
  throw new ModelError({
    code: 'MIMI_WORKER_MISSING',
    message: `The compiled Mimi decoder worker (${built}) is missing.`,
    hint: 'Build the package first: npm run build.',
  })
}

function workerError(message: string, cause?: unknown): ModelError {
  const detail = cause instanceof Error ? ` ${cause.message}` : ''
  return new ModelError({
    code: 'MIMI_WORKER_FAILED',
    message: `${message}${detail}`,
    hint: 'Run again with --verbose; if it persists, report it.',
    ...(cause === undefined ? {} : {cause}),
  })
}

function fromFailure(error: MimiWorkerFailure): ModelError {
  return new ModelError({
    code: error.code,
    message: error.message,
    hint: error.hint ?? 'Run `pockettts model verify DIR`; if it passes, report this with --verbose output.',
  })
}
