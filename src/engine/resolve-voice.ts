import {existsSync} from 'node:fs'
import {extname} from 'node:path'
import {loadAudioPrompt, type PromptAudioWarning} from '../audio/index.js'
import {UsageError} from '../errors/index.js'
import {KvCache} from '../flowlm/kv-cache.js'
import {loadVoiceState} from '../voice/index.js'
import type {EngineModel} from './engine-model.js'
import type {NoiseSource} from './noise/index.js'
import {prefillVoice, voiceKvFromPromptAudio} from './prefill-voice.js'

/** The voice name used when none is given and the model ships it (upstream's English default). */
export const DEFAULT_VOICE_NAME = 'alba'

export interface ResolveVoiceParams {
  readonly model: EngineModel
  /** A voice name of the model folder, a voice `.safetensors` file or a WAV prompt; undefined = the default. */
  readonly voice?: string
  /** Needed for prompts (WAV, legacy audio_prompt): their prefill consumes one noise draw, as upstream. */
  readonly noise: NoiseSource
  /** WAV prompts: keep the first N seconds (upstream `generate`: no limit; `export-voice`: 30). @default null */
  readonly truncateSeconds?: number | null
}

export interface ResolvedVoice {
  /** The FlowLM KV cache after the voice prefill. */
  readonly kv: KvCache
  /** What was used, for reports: `name:alba`, a file path. */
  readonly label: string
  readonly kind: 'name' | 'state-file' | 'prompt'
  /** A WAV prompt that is silent or far too short to carry a voice (empty otherwise). */
  readonly warnings: readonly PromptAudioWarning[]
}

/** Turns a `--voice` value into the FlowLM state after the voice prefill. */
export async function resolveVoice(params: ResolveVoiceParams): Promise<ResolvedVoice> {
  const {model} = params
  const names = Object.keys(model.voices).sort()
  const requested = params.voice ?? (names.includes(DEFAULT_VOICE_NAME) ? DEFAULT_VOICE_NAME : names[0])
  if (requested === undefined) {
    throw new UsageError({
      code: 'VOICE_REQUIRED',
      message: `The model in ${model.dir} ships no voice.`,
      hint: 'Pass --voice FILE.safetensors (a voice state) or --voice FILE.wav (a voice prompt).',
    })
  }
  const named = model.voices[requested]
  if (named !== undefined)
    return {kv: await loadStateFile(model, named, params.noise), label: `name:${requested}`, kind: 'name', warnings: []}
  const extension = extname(requested).toLowerCase()
  if (!existsSync(requested)) {
    throw new UsageError({
      code: 'VOICE_NOT_FOUND',
      message: `Unknown voice "${requested}": not a voice of the model and not an existing file.`,
      hint:
        names.length > 0
          ? `Use one of: ${names.join(', ')}; or pass a .safetensors voice state or a .wav prompt.`
          : 'Pass a .safetensors voice state or a .wav prompt.',
      details: {voice: requested, available: names},
    })
  }
  if (extension === '.safetensors')
    return {kv: await loadStateFile(model, requested, params.noise), label: requested, kind: 'state-file', warnings: []}
  const prompt = await loadAudioPrompt({
    path: requested,
    truncateSeconds: params.truncateSeconds ?? null,
    sampleRate: model.dims.sampleRate,
  })
  return {
    kv: (await voiceKvFromPromptAudio({model, audio: prompt.audio, noise: params.noise})).kv,
    label: requested,
    kind: 'prompt',
    warnings: prompt.warnings,
  }
}

async function loadStateFile(model: EngineModel, path: string, noise: NoiseSource): Promise<KvCache> {
  const state = await loadVoiceState({path, model: model.dims})
  if (state.kind === 'kv-state') {
    return KvCache.fromLayerCaches(
      model.dims,
      state.layers.map((l) => l.cache),
      state.offset,
      model.kvCapacity,
      state.layers[0]?.length,
    )
  }
  if (model.generation === 'v2') {
    throw new UsageError({
      code: 'VOICE_FORMAT_UNSUPPORTED',
      message: `${path} is a legacy v1 audio_prompt voice; this ${model.generation} model needs its voice BOS, which such files lack.`,
      hint: 'Export the voice again from its WAV prompt with `pockettts export-voice PROMPT --model DIR --out FILE.safetensors`.',
    })
  }
  return prefillVoice({model, conditioning: state.conditioning, noise})
}
