import {STREAMING_PLACEHOLDER_FRAMES} from './audio-format.js'
import {encodeSamples} from './encode-samples.js'
import type {OpenEncoderParams, SpeechEncoder} from './speech-encoder.js'
import {maxWavFrames, wavHeader} from './wav-header.js'

/**
 * 16-bit PCM, as a progressive WAV (header first, with upstream's placeholder length, which players accept)
 * or raw little-endian samples with no header.
 */
export async function openPcmEncoder(params: OpenEncoderParams & {readonly header: boolean}): Promise<SpeechEncoder> {
  let headerSent = !params.header
  const encode = (samples: Float32Array): Uint8Array => {
    const body = encodeSamples({samples, format: 'pcm16'})
    if (headerSent) return body
    headerSent = true
    const frames = Math.min(STREAMING_PLACEHOLDER_FRAMES, maxWavFrames('wav16'))
    return Buffer.concat([wavHeader({format: 'wav16', sampleRate: params.sampleRate, frames}), body])
  }
  return {
    async write(samples) {
      return encode(samples)
    },
    async end() {
      return encode(new Float32Array(0))
    },
    dispose() {},
  }
}
