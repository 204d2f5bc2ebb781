import {Transform, type TransformCallback} from 'node:stream'

/** OpenAI's `speech.audio.done` usage: text tokens in, audio frames (12.5 per second) out. */
export interface SpeechUsage {
  readonly input_tokens: number
  readonly output_tokens: number
  readonly total_tokens: number
}

/**
 * OpenAI's `stream_format: "sse"` framing: every byte chunk written becomes one
 * `data: {"type":"speech.audio.delta","audio":"<base64>"}` event; `finish()` sends `speech.audio.done` with
 * the usage, `fail()` an `error` event in OpenAI's error shape; both end the stream. The decoded deltas,
 * concatenated, are exactly the bytes `stream_format: "audio"` would have sent.
 */
export class SseAudioStream extends Transform {
  private last: object | undefined

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    callback(null, event({type: 'speech.audio.delta', audio: chunk.toString('base64')}))
  }

  override _flush(callback: TransformCallback): void {
    callback(null, this.last === undefined ? undefined : event(this.last))
  }

  /** Ends the stream (after every pending delta) with `speech.audio.done`. */
  finish(usage: SpeechUsage): void {
    this.last = {type: 'speech.audio.done', usage}
    this.end()
  }

  /** Ends the stream (after every pending delta) with an `error` event. */
  fail(error: OpenAiStreamError): void {
    this.last = {type: 'error', error}
    this.end()
  }
}

export interface OpenAiStreamError {
  readonly message: string
  readonly type: string
  readonly param: string | null
  readonly code: string | null
}

function event(payload: object): string {
  return `data: ${JSON.stringify(payload)}\n\n`
}
