import {AAC_PACKAGE, aacEncoderInstalled} from './encode-aac.js'
import {openPcmEncoder} from './encode-wav-stream.js'
import type {OpenEncoderParams, SpeechEncoder} from './speech-encoder.js'

/** OpenAI's speech formats, in OpenAI's order; `mp3` is its default. */
export const SPEECH_FORMATS = ['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm'] as const
export type SpeechFormat = (typeof SPEECH_FORMATS)[number]
export const DEFAULT_SPEECH_FORMAT: SpeechFormat = 'mp3'
/** The compressed ones (`synth --format` offers them beside its WAV/PCM encodings). */
export const ENCODED_SPEECH_FORMATS = ['mp3', 'opus', 'aac', 'flac'] as const satisfies readonly SpeechFormat[]
export type EncodedSpeechFormat = (typeof ENCODED_SPEECH_FORMATS)[number]

export interface SpeechFormatInfo {
  /** The HTTP content type OpenAI sends for it. */
  readonly contentType: string
  readonly extension: string
  /** True when bytes go out while the speech is generated; false when the encoder needs the whole signal. */
  readonly progressive: boolean
  /** The encoder library, for `--help` and docs. */
  readonly encoder: string
  /** An optional package the encoder needs, when it has one. */
  readonly optionalPackage?: {readonly name: string; readonly installed: () => boolean}
  open(params: OpenEncoderParams): Promise<SpeechEncoder>
}

// The compressed formats' encoders (lamejs, opusscript's and libflacjs' wasm, @ffmpeg/core) are imported when a
// stream of that format is opened, not with this table: synth --format wav, bench and the rest never load them.
/** The one table of speech formats: content type, file extension and encoder of each. */
export const SPEECH_FORMAT_INFO: Readonly<Record<SpeechFormat, SpeechFormatInfo>> = {
  mp3: {
    contentType: 'audio/mpeg',
    extension: 'mp3',
    progressive: true,
    encoder: 'lamejs',
    open: async (p) => (await import('./encode-mp3.js')).openMp3Encoder(p),
  },
  opus: {
    contentType: 'audio/opus',
    extension: 'opus',
    progressive: true,
    encoder: 'opusscript (libopus) in Ogg',
    open: async (p) => (await import('./encode-opus.js')).openOpusEncoder(p),
  },
  aac: {
    contentType: 'audio/aac',
    extension: 'aac',
    progressive: false,
    encoder: '@ffmpeg/core (FFmpeg AAC) in ADTS',
    optionalPackage: {name: AAC_PACKAGE, installed: aacEncoderInstalled},
    open: async (p) => (await import('./encode-aac.js')).openAacEncoder(p),
  },
  flac: {
    contentType: 'audio/flac',
    extension: 'flac',
    progressive: true,
    encoder: 'libflacjs (libFLAC)',
    open: async (p) => (await import('./encode-flac.js')).openFlacEncoder(p),
  },
  wav: {
    contentType: 'audio/wav',
    extension: 'wav',
    progressive: true,
    encoder: '16-bit PCM WAV',
    open: (p) => openPcmEncoder({...p, header: true}),
  },
  pcm: {
    contentType: 'audio/pcm',
    extension: 'pcm',
    progressive: true,
    encoder: 'raw 16-bit LE PCM',
    open: (p) => openPcmEncoder({...p, header: false}),
  },
}

/** Why a format cannot be encoded on this installation (its optional encoder package is missing), or undefined. */
export function speechFormatUnavailable(
  format: SpeechFormat,
  table: Readonly<Record<SpeechFormat, Pick<SpeechFormatInfo, 'optionalPackage'>>> = SPEECH_FORMAT_INFO,
): string | undefined {
  const needed = table[format].optionalPackage
  if (needed === undefined || needed.installed()) return undefined
  return `${format} needs the optional package ${needed.name}, which is not installed; install it with npm install ${needed.name}.`
}

export function isSpeechFormat(value: string): value is SpeechFormat {
  return (SPEECH_FORMATS as readonly string[]).includes(value)
}
