import {createHash} from 'node:crypto'
import {decodeWav} from '../audio/index.js'
import {isPocketTtsError} from '../errors/index.js'
import {HttpProblem, toHttpProblem} from './http-problem.js'
import type {VoiceSelection} from './voice-resolver.js'

export interface ValidateUploadParams {
  readonly bytes: Buffer
  /** The form field, named in errors. */
  readonly field: string
}

/** Sample rates a voice prompt may have (it is resampled to the model's rate). */
const MIN_RATE = 8000
const MAX_RATE = 192_000
/** Shorter prompts carry no usable voice. */
const MIN_SECONDS = 0.1

/**
 * Checks that an uploaded voice prompt is a WAV we can read before it takes a generation slot: RIFF/WAVE,
 * PCM or float samples, a plausible sample rate, at least 0.1 s of audio. 415 for other formats, 400 for a
 * broken or empty file. Returns the decoded audio with the sha256 of the bytes (the voice-cache key).
 */
export function validateUpload(params: ValidateUploadParams): Extract<VoiceSelection, {kind: 'upload'}> {
  const {bytes, field} = params
  let wav
  try {
    wav = decodeWav({bytes, source: `the uploaded ${field}`})
  } catch (error) {
    const problem = toHttpProblem(error)
    throw new HttpProblem({
      status: problem.status,
      code: problem.code,
      message: problem.message,
      param: field,
      ...(isPocketTtsError(error) && error.hint !== undefined ? {hint: error.hint} : {}),
      cause: error,
    })
  }
  if (wav.sampleRate < MIN_RATE || wav.sampleRate > MAX_RATE) {
    throw new HttpProblem({status: 400, code: 'audio_invalid', message: `The uploaded ${field} has a sample rate of ${wav.sampleRate} Hz; ${MIN_RATE}-${MAX_RATE} Hz is accepted.`, param: field})
  }
  if (wav.samples.length < MIN_SECONDS * wav.sampleRate) {
    throw new HttpProblem({status: 400, code: 'audio_empty', message: `The uploaded ${field} holds less than ${MIN_SECONDS} s of audio.`, hint: 'Upload a few seconds of clear speech.', param: field})
  }
  return {kind: 'upload', wav, sha256: createHash('sha256').update(bytes).digest('hex')}
}
