import type {Writable} from 'node:stream'
import {fileSink, streamSink} from './audio-sink.js'
import type {WavWriter, WavWriteSummary} from './open-wav-writer.js'
import {SPEECH_FORMAT_INFO, type SpeechFormat} from './speech-formats.js'

export interface OpenEncodedWriterParams {
  /** A file path (written beside it and renamed on close; `abort()` removes it) or a writable stream. */
  readonly destination: string | Writable
  readonly format: SpeechFormat
  readonly sampleRate: number
  /** Silence appended by `close()`. @default 0 */
  readonly trailingSilenceSeconds?: number
  /** Stream destinations: aborting stops a pending wait for 'drain'. */
  readonly signal?: AbortSignal
}

/** A progressive writer of one of the speech formats (mp3, opus, aac, flac, …), with `openWavWriter`'s contract. */
export async function openEncodedWriter(params: OpenEncodedWriterParams): Promise<WavWriter> {
  const {format, sampleRate, destination} = params
  const encoder = await SPEECH_FORMAT_INFO[format].open({sampleRate})
  const sink = typeof destination === 'string' ? await fileSink(destination) : streamSink(destination, params.signal)
  const silence = Math.trunc(sampleRate * (params.trailingSilenceSeconds ?? 0))
  let samples = 0
  let bytes = 0
  let state: 'open' | 'closed' | 'aborted' = 'open'
  const put = async (chunk: Uint8Array): Promise<void> => {
    if (chunk.length === 0) return
    await sink.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    bytes += chunk.length
  }
  return {
    async write(chunk) {
      if (state !== 'open') throw new Error(`write after ${state}`)
      await put(await encoder.write(chunk))
      samples += chunk.length
    },
    async close(): Promise<WavWriteSummary> {
      if (state !== 'open') throw new Error(`close after ${state}`)
      state = 'closed'
      try {
        if (silence > 0) {
          await put(await encoder.write(new Float32Array(silence)))
          samples += silence
        }
        await put(await encoder.end())
        const path = await sink.finish()
        return {format, sampleRate, samples, seconds: samples / sampleRate, bytes, ...(path === undefined ? {} : {path})}
      } catch (error) {
        await sink.discard()
        throw error
      } finally {
        encoder.dispose()
      }
    },
    async abort() {
      if (state !== 'open') return
      state = 'aborted'
      encoder.dispose()
      await sink.discard()
    },
  }
}
