import {once} from 'node:events'
import {PassThrough, type Writable} from 'node:stream'
import type {FastifyReply, FastifyRequest} from 'fastify'
import {createTimeStretch, SPEECH_FORMAT_INFO, type SpeechEncoder, type SpeechFormat, type TimeStretch} from '../audio/index.js'
import {generateAudio, type AudioFrame} from '../engine/generate-audio.js'
import {SeededNormalNoise} from '../engine/noise/index.js'
import {CancelledError} from '../errors/index.js'
import {HttpProblem, openAiErrorBody, toHttpProblem} from './http-problem.js'
import {leaseForRequest} from './lease-for-request.js'
import {RequestAborted, type RequestLease} from './request-lease.js'
import type {ServerContext} from './server-context.js'
import type {GenerationOutcome} from './server-metrics.js'
import {SseAudioStream} from './sse-audio-stream.js'
import type {VoiceSelection} from './voice-resolver.js'

/**
 * How the audio goes out: one of the speech formats (src/audio/speech-formats.ts), as the response body or
 * inside OpenAI's SSE events, time-stretched when `speed` is not 1.
 */
export interface SpeechOutput {
  readonly stream: 'audio' | 'sse'
  readonly format: SpeechFormat
  /** Pitch-preserving playback speed, 0.25-4. @default 1 */
  readonly speed?: number
  /** Silence appended after the speech (upstream's `/tts` adds 0.2 s). @default 0 */
  readonly trailingSilenceSeconds?: number
  readonly headers?: Readonly<Record<string, string>>
}

export interface SpeechJob {
  /** Route label for metrics and logs. */
  readonly route: string
  readonly text: string
  readonly voice: VoiceSelection
  readonly seed: number
  readonly temperature: number
  readonly output: SpeechOutput
}

/**
 * Runs one synthesis for an HTTP request and streams it: waits for a generation slot (429/503 when the
 * server cannot take it), resolves the voice, generates the first frame, then answers 200 and writes each
 * frame as soon as it is decoded. Errors before the first frame are HTTP errors; after it the stream is cut
 * (audio) or ends with an `error` event (SSE). A client that disconnects, the request timeout and the
 * shutdown deadline all stop the generation within one model step and free the slot.
 */
export async function streamSpeech(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  job: SpeechJob,
): Promise<FastifyReply> {
  const arrived = performance.now()
  const lease = await leaseForRequest(ctx, reply)
  const admitted = performance.now()
  let inputTokens = 0
  let frames: AsyncIterator<AudioFrame, void> | undefined
  let encoder: SpeechEncoder | undefined
  let voiceLabel = ''
  try {
    const voice = await ctx.voices.resolve(job.voice)
    voiceLabel = voice.label
    throwIfAborted(lease.signal)
    encoder = await SPEECH_FORMAT_INFO[job.output.format].open({sampleRate: ctx.model.dims.sampleRate})
    frames = generateAudio({
      model: ctx.model,
      voice: voice.kv,
      text: job.text,
      params: {...ctx.options.generation, temperature: job.temperature},
      noise: new SeededNormalNoise({seed: job.seed, temperature: job.temperature, clamp: ctx.options.generation.noiseClamp}),
      signal: lease.signal,
      taps: {chunkStart: (info) => (inputTokens += info.ids.length)},
      // Mimi in the worker's frame groups, batched or not: --no-batching differs from batching only in its FlowLM calls
      mimiGroups: true,
      ...(ctx.options.batcher === undefined ? {} : {batcher: ctx.options.batcher}),
    })[Symbol.asyncIterator]()
    const first = await frames.next()
    const ttfaMs = performance.now() - arrived
    ctx.metrics.timeToFirstAudio(job.route, ttfaMs / 1000)
    const body = job.output.stream === 'sse' ? new SseAudioStream() : new PassThrough()
    reply
      .code(200)
      .header('content-type', job.output.stream === 'sse' ? 'text/event-stream' : SPEECH_FORMAT_INFO[job.output.format].contentType)
      .header('cache-control', 'no-store')
      .headers(job.output.headers ?? {})
    void reply.send(body)
    void pump({ctx, request, job, lease, frames, first, encoder, body, admitted, ttfaMs, voiceLabel, inputTokens: () => inputTokens})
    return reply
  } catch (error) {
    encoder?.dispose()
    await frames?.return?.()
    lease.release()
    const outcome = outcomeOf(lease, error)
    ctx.metrics.generation(job.route, outcome)
    logDone(request, job, {outcome, voice: voiceLabel, frames: 0, ttfaMs: null, rtf: null})
    throw problemFor(lease, error)
  }
}

interface PumpParams {
  readonly ctx: ServerContext
  readonly request: FastifyRequest
  readonly job: SpeechJob
  readonly lease: RequestLease
  readonly frames: AsyncIterator<AudioFrame, void>
  readonly first: IteratorResult<AudioFrame, void>
  readonly encoder: SpeechEncoder
  readonly body: PassThrough | SseAudioStream
  readonly admitted: number
  readonly ttfaMs: number
  readonly voiceLabel: string
  readonly inputTokens: () => number
}

async function pump(params: PumpParams): Promise<void> {
  const {ctx, job, lease, frames, body, encoder} = params
  const {sampleRate} = ctx.model.dims
  const speed = job.output.speed ?? 1
  const stretch: TimeStretch | undefined = speed === 1 ? undefined : createTimeStretch({speed, sampleRate})
  const send = (bytes: Uint8Array): Promise<void> => writeWithBackpressure(body, bytes, lease.signal)
  let count = 0
  let outcome: GenerationOutcome = 'failed'
  try {
    let next = params.first
    while (next.done !== true) {
      const audio = next.value.audio
      await send(await encoder.write(stretch === undefined ? audio : stretch.push(audio)))
      count += 1
      next = await frames.next()
    }
    if (stretch !== undefined) await send(await encoder.write(stretch.flush()))
    const silence = Math.trunc(sampleRate * (job.output.trailingSilenceSeconds ?? 0))
    if (silence > 0) await send(await encoder.write(new Float32Array(silence)))
    await send(await encoder.end())
    outcome = 'completed'
    if (body instanceof SseAudioStream)
      body.finish({input_tokens: params.inputTokens(), output_tokens: count, total_tokens: params.inputTokens() + count})
    else body.end()
  } catch (error) {
    await frames.return?.().catch(() => undefined)
    outcome = outcomeOf(lease, error)
    if (outcome !== 'completed')
      params.request.log.warn(
        {event: 'speech_stream_stopped', outcome, err: outcome === 'failed' ? error : undefined},
        'speech stream stopped',
      )
    if (body instanceof SseAudioStream && outcome !== 'cancelled') body.fail(openAiErrorBody(problemFor(lease, error)).error)
    else body.destroy()
  } finally {
    encoder.dispose()
    lease.release()
    const seconds = (performance.now() - params.admitted) / 1000
    const audioSeconds = (count * ctx.model.dims.frameSize) / ctx.model.dims.sampleRate
    const rtf = audioSeconds > 0 ? seconds / audioSeconds : null
    ctx.metrics.generation(job.route, outcome)
    if (outcome === 'completed') {
      ctx.recordGenerationSeconds(seconds)
      ctx.metrics.audioSeconds(job.route, audioSeconds)
      if (rtf !== null) ctx.metrics.realTimeFactor(job.route, rtf)
    }
    logDone(params.request, job, {outcome, voice: params.voiceLabel, frames: count, ttfaMs: params.ttfaMs, rtf})
  }
}

function logDone(
  request: FastifyRequest,
  job: SpeechJob,
  facts: {
    readonly outcome: GenerationOutcome
    readonly voice: string
    readonly frames: number
    readonly ttfaMs: number | null
    readonly rtf: number | null
  },
): void {
  request.log.info(
    {
      event: 'speech',
      route: job.route,
      output: job.output.stream === 'sse' ? `sse:${job.output.format}` : job.output.format,
      speed: job.output.speed ?? 1,
      textChars: job.text.length,
      seed: job.seed,
      ...facts,
      ttfaMs: round(facts.ttfaMs),
      rtf: round(facts.rtf),
    },
    `speech ${facts.outcome}`,
  )
  request.log.debug({event: 'speech_text', text: job.text}, 'speech text')
}

function round(value: number | null): number | null {
  return value === null ? null : Math.round(value * 1000) / 1000
}

function outcomeOf(lease: RequestLease, error: unknown): GenerationOutcome {
  const cause = lease.abortCause
  if (cause === 'client_closed') return 'cancelled'
  if (cause === 'timeout') return 'timeout'
  if (cause === 'shutdown') return 'shutdown'
  return error instanceof CancelledError ? 'cancelled' : 'failed'
}

function problemFor(lease: RequestLease, error: unknown): HttpProblem {
  const cause = lease.abortCause
  if (cause === 'timeout')
    return new HttpProblem({
      status: 503,
      code: 'request_timeout',
      message: 'The request timed out before the audio was complete.',
      retryAfterSeconds: 1,
    })
  if (cause === 'shutdown')
    return new HttpProblem({
      status: 503,
      code: 'server_draining',
      message: 'The server shut down before the audio was complete.',
      retryAfterSeconds: 1,
    })
  if (cause === 'client_closed') return new HttpProblem({status: 499, code: 'client_closed', message: 'The client closed the connection.'})
  return toHttpProblem(error)
}

/** Writes to the response body, waiting for 'drain' when it is full; a cancelled request stops the wait. */
async function writeWithBackpressure(stream: Writable, bytes: Uint8Array, signal: AbortSignal): Promise<void> {
  if (bytes.length === 0) return
  if (signal.aborted || stream.destroyed) throw new CancelledError({code: 'CANCELLED', message: 'Writing the audio was cancelled.'})
  if (stream.write(bytes)) return
  try {
    await once(stream, 'drain', {signal})
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw new CancelledError({code: 'CANCELLED', message: 'Writing the audio was cancelled.'})
    throw error
  }
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted)
    throw signal.reason instanceof RequestAborted ? signal.reason : new CancelledError({code: 'CANCELLED', message: 'Cancelled.'})
}
