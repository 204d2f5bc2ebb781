/**
 * Entry of the Mimi decoder worker thread: owns the `latent_to_mimi` and `mimi_decoder` sessions and one
 * MimiDecoderStream per open stream, and decodes latents in the order they arrive, so that decoding frame k
 * overlaps the FlowLM step k+1 running on the main thread.
 */
import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'
import {parentPort, workerData} from 'node:worker_threads'
import {isPocketTtsError} from '../errors/index.js'
import {createSessions, MIMI_NO_MEM_PATTERN} from '../onnx/create-sessions.js'
import {MimiDecoderStream} from './mimi-decoder-stream.js'
import {nextRequestIndex} from './mimi-worker-queue.js'
import type {MimiWorkerData, MimiWorkerFailure, MimiWorkerReply, MimiWorkerRequest} from './mimi-worker-protocol.js'

const port = parentPort
if (port === null) throw new Error('mimi-worker-main must run in a worker thread')
const data = workerData as MimiWorkerData

/**
 * A young-generation collection after each decode call. Every mimi_decoder call returns fresh state tensors
 * (~2.5 MB at the real size; onnxruntime-node copies even into preallocated outputs) whose memory V8 only
 * releases once tens of MB of such external memory have piled up; a scavenge of this small heap takes well
 * under a millisecond and keeps that pile from showing in the process's RSS.
 */
const collectYoung: () => void = (() => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as ((options?: {type: 'minor' | 'major'}) => void) | undefined
  return typeof gc === 'function' ? () => gc({type: 'minor'}) : () => undefined
})()

function failure(error: unknown): MimiWorkerFailure {
  if (isPocketTtsError(error)) return {code: error.code, message: error.message, ...(error.hint === undefined ? {} : {hint: error.hint})}
  return {code: 'MIMI_DECODE_FAILED', message: error instanceof Error ? error.message : String(error)}
}

function reply(message: MimiWorkerReply): void {
  port?.postMessage(message)
}

try {
  const sessions = await createSessions({
    dir: data.dir,
    files: data.files,
    threads: data.threads,
    allowSpinning: data.allowSpinning,
    noMemPattern: MIMI_NO_MEM_PATTERN,
  })
  const streams = new Map<number, MimiDecoderStream>()
  const decode = async (request: Extract<MimiWorkerRequest, {kind: 'decode'}>): Promise<void> => {
    try {
      const stream = streams.get(request.stream)
      if (stream === undefined) throw new Error(`no open Mimi stream ${request.stream}`)
      if (request.latents.length > data.maxFrames)
        throw new Error(`${request.latents.length} frames in one call; this decoder takes at most ${data.maxFrames}`)
      const start = performance.now()
      const frames = await stream.decodeLatents(request.latents)
      const ms = (performance.now() - start) / frames.length
      frames.forEach((frame, j) => reply({kind: 'decoded', id: request.ids[j] ?? -1, mimiInput: frame.mimiInput, audio: frame.audio, ms}))
      collectYoung()
    } catch (error) {
      for (const id of request.ids) reply({kind: 'decode-failed', id, error: failure(error)})
    }
  }
  const handle = async (request: MimiWorkerRequest): Promise<void> => {
    if (request.kind === 'open') {
      streams.set(
        request.stream,
        new MimiDecoderStream({
          latentToMimi: sessions.latent_to_mimi,
          decoder: sessions.mimi_decoder,
          states: data.states,
          mimiInputDim: data.mimiInputDim,
          latentDim: data.latentDim,
        }),
      )
    } else if (request.kind === 'reset') {
      streams.get(request.stream)?.reset()
    } else if (request.kind === 'close') {
      streams.get(request.stream)?.dispose()
      streams.delete(request.stream)
    } else if (request.kind === 'shutdown') {
      for (const stream of streams.values()) stream.dispose()
      streams.clear()
      await Promise.all([sessions.latent_to_mimi.release(), sessions.mimi_decoder.release()])
      reply({kind: 'shut-down'})
      port?.close()
    } else {
      await decode(request)
    }
  }
  // Requests in arrival order, a stream's first call since its open or reset ahead of other streams' (nextRequestIndex).
  const waiting: MimiWorkerRequest[] = []
  let busy = false
  const pump = async (): Promise<void> => {
    if (busy) return
    busy = true
    try {
      while (waiting.length > 0) await handle(waiting.splice(nextRequestIndex(waiting), 1)[0] as MimiWorkerRequest)
    } finally {
      busy = false
    }
  }
  port.on('message', (request: MimiWorkerRequest) => {
    waiting.push(request)
    void pump()
  })
  reply({kind: 'ready'})
} catch (error) {
  reply({kind: 'load-failed', error: failure(error)})
}
