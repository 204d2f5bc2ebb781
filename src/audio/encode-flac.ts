import {createRequire} from 'node:module'
import type * as FlacModule from 'libflacjs/dist/libflac.js'
import {concatBytes, toInt16Array, type OpenEncoderParams, type SpeechEncoder} from './speech-encoder.js'

type Flac = typeof FlacModule

let loading: Promise<Flac> | undefined

/** libFLAC (libflacjs, the reference encoder compiled to JavaScript by Emscripten), loaded once per process. */
function loadFlac(): Promise<Flac> {
  loading ??= new Promise<Flac>((resolve) => {
    const flac = createRequire(import.meta.url)('libflacjs/dist/libflac.js') as Flac
    if (flac.isReady()) resolve(flac)
    else flac.on('ready', () => resolve(flac))
  })
  return loading
}

/** FLAC level 5, 16-bit: each encoded frame is handed out as soon as libFLAC writes it (length fields left 0, as streams do). */
export async function openFlacEncoder(params: OpenEncoderParams): Promise<SpeechEncoder> {
  const flac = await loadFlac()
  const handle = flac.create_libflac_encoder(params.sampleRate, 1, 16, 5, 0, false, 0)
  if (handle === 0) throw new Error('libFLAC could not create an encoder.')
  const pending: Uint8Array[] = []
  const status = flac.init_encoder_stream(handle, (data) => void pending.push(new Uint8Array(data)))
  if (status !== 0) {
    flac.FLAC__stream_encoder_delete(handle)
    throw new Error(`libFLAC could not start the stream (init status ${status}).`)
  }
  let open = true
  const drain = (): Uint8Array => concatBytes(pending.splice(0))
  return {
    async write(samples) {
      const ints = Int32Array.from(toInt16Array(samples))
      if (!flac.FLAC__stream_encoder_process_interleaved(handle, ints, ints.length)) throw new Error('libFLAC failed to encode a block.')
      return drain()
    },
    async end() {
      flac.FLAC__stream_encoder_finish(handle)
      return drain()
    },
    dispose() {
      if (!open) return
      open = false
      flac.FLAC__stream_encoder_delete(handle)
    },
  }
}
