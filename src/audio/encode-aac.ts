import {readFile} from 'node:fs/promises'
import {createRequire} from 'node:module'
import {concatBytes, toInt16Array, type OpenEncoderParams, type SpeechEncoder} from './speech-encoder.js'

/** The part of @ffmpeg/core's Emscripten module this encoder uses. */
interface FfmpegCore {
  readonly FS: {writeFile(path: string, data: Uint8Array): void; readFile(path: string): Uint8Array}
  setTimeout(ms: number): void
  exec(...args: string[]): number
}
interface FfmpegCoreOptions {
  print(text: string): void
  printErr(text: string): void
  instantiateWasm(imports: object, receive: (instance: object, module: object) => void): object
}
/** Node's WebAssembly global (the project's TypeScript lib has no DOM or WebAssembly types). */
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>
  instantiate(module: object, imports: object): Promise<object>
}
const wasm = (globalThis as unknown as {readonly WebAssembly: WasmApi}).WebAssembly
/** Bit rate of the AAC-LC stream. */
export const AAC_KBPS = 64

type CreateFfmpegCore = (options: FfmpegCoreOptions) => Promise<FfmpegCore>

/** The optional package (GPL-2.0-or-later, so `npm install --omit=optional` leaves it out) that encodes AAC. */
export const AAC_PACKAGE = '@ffmpeg/core'

/** True when @ffmpeg/core is installed (it is an optional dependency). */
export function aacEncoderInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve(AAC_PACKAGE)
    return true
  } catch {
    return false
  }
}

let compiled: Promise<{readonly create: CreateFfmpegCore; readonly module: object}> | undefined

/** @ffmpeg/core (FFmpeg compiled to WebAssembly), compiled once per process; each encode gets its own instance. */
function loadCore(): Promise<{readonly create: CreateFfmpegCore; readonly module: object}> {
  compiled ??= (async () => {
    const require = createRequire(import.meta.url)
    const module = await wasm.compile(await readFile(require.resolve('@ffmpeg/core/wasm')))
    return {create: require('@ffmpeg/core') as CreateFfmpegCore, module}
  })()
  return compiled
}

/** Instantiates the core. Its browser build reads `self.location` once while it starts; Node has no `self`, so one is lent for that call. */
async function newCore(): Promise<FfmpegCore> {
  const {create, module} = await loadCore()
  const global = globalThis as {self?: unknown}
  const lent = global.self === undefined
  if (lent) global.self = {location: {href: import.meta.url}}
  let started: Promise<FfmpegCore>
  try {
    started = create({
      print: () => undefined,
      printErr: () => undefined,
      instantiateWasm(imports, receive) {
        void wasm.instantiate(module, imports).then((instance) => receive(instance, module))
        return {}
      },
    })
  } finally {
    if (lent) delete global.self // the core reads it synchronously, while `create` starts
  }
  return started
}

/**
 * AAC-LC in ADTS through FFmpeg's own AAC encoder in @ffmpeg/core. FFmpeg's WebAssembly build encodes a whole
 * file per run, so this encoder keeps the samples and returns every ADTS frame from `end`: the answer's bytes
 * come when the speech is complete (the other formats stream as frames are decoded).
 */
export async function openAacEncoder(params: OpenEncoderParams): Promise<SpeechEncoder> {
  const core = loadCore() // start compiling while the first frames are generated
  void core.catch(() => undefined) // a request cancelled before `end` never awaits it; `end` still sees a failure
  const chunks: Int16Array[] = []
  return {
    async write(samples) {
      chunks.push(toInt16Array(samples))
      return new Uint8Array(0)
    },
    async end() {
      await core
      const ffmpeg = await newCore()
      const pcm = concatBytes(chunks.map((chunk) => new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)))
      ffmpeg.FS.writeFile('in.pcm', pcm)
      ffmpeg.setTimeout(-1)
      const rate = String(params.sampleRate)
      const status = ffmpeg.exec(
        '-f',
        's16le',
        '-ar',
        rate,
        '-ac',
        '1',
        '-i',
        'in.pcm',
        '-c:a',
        'aac',
        '-b:a',
        `${AAC_KBPS}k`,
        '-f',
        'adts',
        'out.aac',
      )
      if (status !== 0) throw new Error(`FFmpeg's AAC encoder failed (exit status ${status}).`)
      return ffmpeg.FS.readFile('out.aac')
    },
    dispose() {
      chunks.length = 0
    },
  }
}
