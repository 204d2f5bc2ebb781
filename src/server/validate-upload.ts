import {createHash} from 'node:crypto'
import {checkPromptAudio, decodeWav} from '../audio/index.js'
import {isPocketTtsError} from '../errors/index.js'
import {HttpProblem, toHttpProblem} from './http-problem.js'
import type {VoiceSelection} from './voice-resolver.js'

export interface ValidateUploadParams {
  readonly bytes: Buffer
  /** The form field, named in errors. */
  readonly field: string
}

/** Shorter prompts carry no usable voice: refused (a prompt under 1 s is only warned about, as in export-voice). */
const MIN_SECONDS = 0.1

/**
 * Checks that an uploaded voice prompt is a WAV we can read before it takes a generation slot: RIFF/WAVE,
 * PCM or float samples, finite samples and a plausible sample rate (`checkPromptAudio`, as export-voice), at
 * least 0.1 s of audio. 415 for other formats, 400 for a broken, non-finite or empty file. Returns the decoded
 * audio with the sha256 of the bytes (the voice-cache key) and the prompt's warnings (silent, very short).
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
  let report
  try {
    report = checkPromptAudio({wav, source: `The uploaded ${field}`})
  } catch (error) {
    const pocket = isPocketTtsError(error) ? error : undefined
    throw new HttpProblem({
      status: 400,
      code: pocket?.code === 'AUDIO_NOT_FINITE' ? 'audio_not_finite' : 'audio_invalid',
      message: pocket?.message.replace('; nothing was written', '') ?? String(error),
      ...(pocket?.hint === undefined ? {} : {hint: pocket.hint}),
      param: field,
      cause: error,
    })
  }
  if (wav.samples.length < MIN_SECONDS * wav.sampleRate) {
    throw new HttpProblem({
      status: 400,
      code: 'audio_empty',
      message: `The uploaded ${field} holds less than ${MIN_SECONDS} s of audio.`,
      hint: 'Upload a few seconds of clear speech.',
      param: field,
    })
  }
  return {kind: 'upload', wav, sha256: createHash('sha256').update(bytes).digest('hex'), warnings: report.warnings}
}
