import type {EngineModel} from '../engine/engine-model.js'
import {SeededNormalNoise} from '../engine/noise/index.js'
import {resolveVoice} from '../engine/resolve-voice.js'
import {UsageError} from '../errors/index.js'
import type {KvCache} from '../flowlm/kv-cache.js'
import type {GoldenCase} from '../golden/index.js'
import {resolveCaseFile} from './golden-cases.js'

export interface LoadCaseVoiceParams {
  readonly model: EngineModel
  readonly golden: GoldenCase
}

export interface CaseVoice {
  /** The FlowLM KV after the voice prefill. */
  readonly kv: KvCache
  /** The voice file used (a state file or a WAV prompt). */
  readonly file: string
}

/**
 * The voice a synthesis golden was recorded with (`case.voice`: a state file, or a WAV prompt that is
 * encoded and prefilled here). A prompt's prefill draw is not on the golden's noise tape (FORMAT.md), and
 * its latent is discarded, so a zero-noise source stands in for it.
 */
export async function loadCaseVoice(params: LoadCaseVoiceParams): Promise<CaseVoice> {
  const {model, golden} = params
  const name = golden.manifest.case?.voice
  if (typeof name !== 'string' || name === '') {
    throw new UsageError({
      code: 'GOLDEN_INVALID',
      message: `${golden.dir}: manifest case.voice does not name the voice.`,
      hint: 'Record the golden again; its manifest must name the voice file.',
      details: {dir: golden.dir},
    })
  }
  const found = resolveCaseFile({golden, name, modelDir: model.dir})
  const byName = model.voices[name.replace(/\.safetensors$/, '')]
  const path = found.path ?? byName
  if (path === undefined) {
    throw new UsageError({
      code: 'GOLDEN_VOICE_NOT_FOUND',
      message: `${golden.dir}: the voice ${name} of the case was not found (looked for ${found.tried.join(', ')}).`,
      hint: 'Keep the golden beside its model folder, or export the model with the voice so that it ships in the --model folder.',
      details: {dir: golden.dir, voice: name, tried: found.tried},
    })
  }
  const voice = await resolveVoice({model, voice: path, noise: new SeededNormalNoise({seed: 0, temperature: 0})})
  return {kv: voice.kv, file: path}
}
