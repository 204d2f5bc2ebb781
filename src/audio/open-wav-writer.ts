import type {Writable} from 'node:stream'
import {UsageError} from '../errors/index.js'
import {fileSink, streamSink} from './audio-sink.js'
import {bytesPerSample, STREAMING_PLACEHOLDER_FRAMES, type AudioFormat} from './audio-format.js'
import {encodeSamples} from './encode-samples.js'
import type {SpeechFormat} from './speech-formats.js'
import {maxWavFrames, wavHeader} from './wav-header.js'

export interface OpenWavWriterParams {
  /**
   * A file path: written to a temporary file beside it, the header patched with the real length on close,
   * then renamed; `abort()` removes it. Or a writable stream (stdout, an HTTP response): the header carries
   * a placeholder length (upstream's 1e9 frames, which players accept) and is never patched.
   */
  readonly destination: string | Writable
  readonly format: AudioFormat
  readonly sampleRate: number
  /** Silence appended by `close()`; upstream's CLI and server append 0.2 s. @default 0 */
  readonly trailingSilenceSeconds?: number
  /**
   * Stream destinations: aborting stops a pending wait for 'drain' (a client that went away never drains)
   * and makes further writes throw CancelledError.
   */
  readonly signal?: AbortSignal
}

export interface WavWriteSummary {
  /** A WAV/PCM encoding, or an encoded speech format (`openEncodedWriter`). */
  readonly format: AudioFormat | SpeechFormat
  readonly sampleRate: number
  /** Samples written, trailing silence included. */
  readonly samples: number
  readonly seconds: number
  readonly bytes: number
  /** The final file (file destinations only). */
  readonly path?: string
}

export interface WavWriter {
  /** Appends samples (waits for the stream to drain when it is full). */
  write(samples: Float32Array): Promise<void>
  /** Appends the trailing silence, finalises the header (files) and moves the file into place. */
  close(): Promise<WavWriteSummary>
  /** Stops: a file destination is removed, nothing half-written is left. */
  abort(): Promise<void>
}

/** A progressive audio writer for `wav16`, `wavf32` or headerless `pcm16`. */
export async function openWavWriter(params: OpenWavWriterParams): Promise<WavWriter> {
  const {format, sampleRate, destination} = params
  const silence = Math.trunc(sampleRate * (params.trailingSilenceSeconds ?? 0))
  const sink = typeof destination === 'string' ? await fileSink(destination) : streamSink(destination, params.signal)
  let samples = 0
  let bytes = 0
  let state: 'open' | 'closed' | 'aborted' = 'open'

  const put = async (chunk: Buffer): Promise<void> => {
    await sink.write(chunk)
    bytes += chunk.length
  }
  if (format !== 'pcm16') {
    const frames = typeof destination === 'string' ? 0 : Math.min(STREAMING_PLACEHOLDER_FRAMES, maxWavFrames(format))
    await put(wavHeader({format, sampleRate, frames}))
  }
  const headerBytes = bytes

  return {
    async write(chunk: Float32Array): Promise<void> {
      if (state !== 'open') throw new Error(`write after ${state}`)
      if (format !== 'pcm16' && samples + chunk.length > maxWavFrames(format)) {
        throw new UsageError({
          code: 'AUDIO_TOO_LONG',
          message: `A ${format} file cannot hold more than ${maxWavFrames(format)} samples.`,
          hint: 'Use --format pcm16 for very long output.',
        })
      }
      await put(encodeSamples({samples: chunk, format}))
      samples += chunk.length
    },
    async close(): Promise<WavWriteSummary> {
      if (state !== 'open') throw new Error(`close after ${state}`)
      state = 'closed'
      try {
        if (silence > 0) {
          await put(Buffer.alloc(silence * bytesPerSample(format)))
          samples += silence
        }
        if (format !== 'pcm16') await sink.patchHeader(wavHeader({format, sampleRate, frames: samples}), headerBytes)
        const path = await sink.finish()
        return {format, sampleRate, samples, seconds: samples / sampleRate, bytes, ...(path === undefined ? {} : {path})}
      } catch (error) {
        await sink.discard()
        throw error
      }
    },
    async abort(): Promise<void> {
      if (state !== 'open') return
      state = 'aborted'
      await sink.discard()
    },
  }
}
