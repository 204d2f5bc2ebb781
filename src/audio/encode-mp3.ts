import {Mp3Encoder} from '@breezystack/lamejs'
import {toInt16Array, type OpenEncoderParams, type SpeechEncoder} from './speech-encoder.js'

/** Constant bit rate of the MP3 stream (speech at 24 kHz mono). */
export const MP3_KBPS = 64

/** MP3 (MPEG-2 layer III at 24 kHz) through lamejs, a pure-JavaScript port of LAME: frames come out as samples go in. */
export async function openMp3Encoder(params: OpenEncoderParams): Promise<SpeechEncoder> {
  const encoder = new Mp3Encoder(1, params.sampleRate, MP3_KBPS)
  return {
    async write(samples) {
      return bytesOf(encoder.encodeBuffer(toInt16Array(samples)))
    },
    async end() {
      return bytesOf(encoder.flush())
    },
    dispose() {},
  }
}

/** lamejs hands out Int8Array views; the bytes are the same. */
function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
}
