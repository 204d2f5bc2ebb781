import OpusScript from 'opusscript'
import {MAX_SEGMENTS, oggPage} from './ogg-page.js'
import {concatBytes, toInt16Array, type OpenEncoderParams, type SpeechEncoder} from './speech-encoder.js'

/** Target bit rate of the Opus stream. */
export const OPUS_BITS_PER_SECOND = 48_000
/** Samples at 48 kHz the decoder drops at the start (RFC 7845 pre-skip; libopus' look-ahead). */
const PRE_SKIP = 312
const FRAME_MS = 20
type OpusRate = 8000 | 12000 | 16000 | 24000 | 48000
const OPUS_RATES: readonly number[] = [8000, 12000, 16000, 24000, 48000]

/**
 * Opus in Ogg (RFC 7845) through opusscript (libopus compiled to WebAssembly), at the model's own rate (Opus
 * takes 24 kHz input; granules count 48 kHz samples). Each write emits one page with the 20 ms packets it
 * completed; `end` pads the last packet and marks the end of the stream with its true length.
 */
export async function openOpusEncoder(params: OpenEncoderParams): Promise<SpeechEncoder> {
  const rate = params.sampleRate
  if (!OPUS_RATES.includes(rate)) throw new Error(`Opus cannot encode ${rate} Hz audio; it takes ${OPUS_RATES.join(', ')} Hz.`)
  const encoder = new OpusScript(rate as OpusRate, 1, OpusScript.Application.AUDIO)
  encoder.setBitrate(OPUS_BITS_PER_SECOND)
  const frameSamples = (rate * FRAME_MS) / 1000
  const toGranule = 48_000 / rate
  const serial = (Math.random() * 0x1_0000_0000) >>> 0
  let sequence = 0
  let packetsEncoded = 0
  let samplesIn = 0
  let buffered = new Int16Array(0)
  let open = true
  const page = (
    packets: readonly Uint8Array[],
    granule: bigint,
    flags: {beginOfStream?: boolean; endOfStream?: boolean} = {},
  ): Uint8Array => oggPage({serial, sequence: sequence++, granule, packets, ...flags})
  const headers = concatBytes([page([opusHead(rate)], 0n, {beginOfStream: true}), page([opusTags()], 0n)])
  let headersSent = false

  const encodeFrames = (pcm: Int16Array, last: boolean): Uint8Array => {
    const packets: Uint8Array[] = []
    let offset = 0
    for (; offset + frameSamples <= pcm.length; offset += frameSamples) {
      const frame = pcm.subarray(offset, offset + frameSamples)
      packets.push(new Uint8Array(encoder.encode(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), frameSamples)))
    }
    buffered = pcm.slice(offset)
    const pages: Uint8Array[] = headersSent ? [] : [headers]
    headersSent = true
    for (let start = 0; start < packets.length || (last && start === 0); start += MAX_SEGMENTS) {
      const group = packets.slice(start, start + MAX_SEGMENTS)
      packetsEncoded += group.length
      const final = last && start + MAX_SEGMENTS >= packets.length
      const granule = final ? BigInt(PRE_SKIP + samplesIn * toGranule) : BigInt(PRE_SKIP + packetsEncoded * frameSamples * toGranule)
      pages.push(page(group, granule, {endOfStream: final}))
    }
    return concatBytes(pages)
  }

  return {
    async write(samples) {
      samplesIn += samples.length
      const pcm = new Int16Array(buffered.length + samples.length)
      pcm.set(buffered)
      pcm.set(toInt16Array(samples), buffered.length)
      return encodeFrames(pcm, false)
    },
    async end() {
      // Pad to whole packets plus the look-ahead, so the decoder has every input sample; the last granule trims the padding.
      const lookahead = Math.ceil(PRE_SKIP / toGranule)
      const total = Math.ceil((buffered.length + lookahead) / frameSamples) * frameSamples
      const pcm = new Int16Array(total)
      pcm.set(buffered)
      return encodeFrames(pcm, true)
    },
    dispose() {
      if (!open) return
      open = false
      encoder.delete()
    },
  }
}

/** The identification header: version 1, one channel, pre-skip, the input rate, gain 0, mapping family 0. */
function opusHead(inputRate: number): Uint8Array {
  const head = new Uint8Array(19)
  const view = new DataView(head.buffer)
  head.set(new TextEncoder().encode('OpusHead'))
  head[8] = 1
  head[9] = 1
  view.setUint16(10, PRE_SKIP, true)
  view.setUint32(12, inputRate, true)
  view.setInt16(16, 0, true)
  head[18] = 0
  return head
}

/** The comment header: the vendor string and no comments. */
function opusTags(): Uint8Array {
  const vendor = new TextEncoder().encode('pockettts')
  const tags = new Uint8Array(8 + 4 + vendor.length + 4)
  const view = new DataView(tags.buffer)
  tags.set(new TextEncoder().encode('OpusTags'))
  view.setUint32(8, vendor.length, true)
  tags.set(vendor, 12)
  view.setUint32(12 + vendor.length, 0, true)
  return tags
}
