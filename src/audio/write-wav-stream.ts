import {CancelledError} from '../errors/index.js'
import {openWavWriter, type OpenWavWriterParams, type WavWriteSummary} from './open-wav-writer.js'

export interface WriteWavStreamParams extends OpenWavWriterParams {
  /** Audio chunks (e.g. the engine's 1920-sample frames), written as they arrive. */
  readonly source: AsyncIterable<Float32Array>
  readonly signal?: AbortSignal
  /** Called after each chunk with the samples written so far. */
  readonly onProgress?: (samples: number) => void
}

/**
 * Writes an async stream of audio chunks progressively. On an error or an abort the partial output is
 * removed (files) and the error, or CancelledError, is thrown.
 */
export async function writeWavStream(params: WriteWavStreamParams): Promise<WavWriteSummary> {
  const {source, signal, onProgress, ...writerParams} = params
  const writer = await openWavWriter(writerParams)
  let samples = 0
  try {
    for await (const chunk of source) {
      if (signal?.aborted) throw new CancelledError({code: 'CANCELLED', message: 'Writing the audio was cancelled.'})
      await writer.write(chunk)
      samples += chunk.length
      onProgress?.(samples)
    }
    if (signal?.aborted) throw new CancelledError({code: 'CANCELLED', message: 'Writing the audio was cancelled.'})
  } catch (error) {
    await writer.abort()
    throw error
  }
  return writer.close()
}
