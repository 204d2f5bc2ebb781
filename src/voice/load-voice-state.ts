import {readFile} from 'node:fs/promises'
import {isPocketTtsError, UsageError} from '../errors/index.js'
import {parseSafetensors, type SafetensorsTensor} from '../safetensors/index.js'
import {voiceLayerKey, type KvVoiceState, type PromptVoiceConditioning, type VoiceModelDims, type VoiceState} from './voice-state.js'

export interface LoadVoiceStateParams {
  /** A voice `.safetensors` file. */
  readonly path: string
  /** The model the voice must fit. */
  readonly model: VoiceModelDims
}

const KEY = /^transformer\.layers\.(\d+)\.self_attn\/(cache|offset|current_end|pad)$/

/**
 * Reads a voice file as upstream's `_import_model_state` does: per-layer `…self_attn/cache` float32
 * `[2, 1, P, H, Dh]` (H: the model's KV heads) with `…/offset` int64 `[1]` and, from 4.x, `…/pad` int64 `[1]` (padded
 * slots of a batch row: only 0 is a single voice), or a legacy `…/current_end` whose length is the offset;
 * or a legacy `audio_prompt` `[1, T, D]` conditioning, returned for a prefill. The voice is checked against
 * the model (layers, heads, head dim, d_model): VOICE_NOT_FOUND, VOICE_FILE_INVALID, VOICE_MODEL_MISMATCH.
 */
export async function loadVoiceState(params: LoadVoiceStateParams): Promise<VoiceState> {
  const {path, model} = params
  const bytes = await readFile(path).catch((error: unknown) => {
    throw new UsageError({
      code: 'VOICE_NOT_FOUND',
      message: `Cannot read the voice file ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}).`,
      hint: 'Pass an existing voice .safetensors file (e.g. one written by `pockettts export-voice`).',
      details: {path},
      cause: error,
    })
  })
  const invalid = (why: string, cause?: unknown): UsageError =>
    new UsageError({
      code: 'VOICE_FILE_INVALID',
      message: `${path} is not a Pocket TTS voice file: ${why}.`,
      hint: 'Use a voice state written by `pocket-tts export-voice` / `pockettts export-voice`, or a v1 audio_prompt file.',
      details: {path},
      cause,
    })
  const mismatch = (what: string, file: number, expected: number): UsageError =>
    new UsageError({
      code: 'VOICE_MODEL_MISMATCH',
      message: `${path} does not fit this model: the voice's ${what} is ${file}, the model's is ${expected}.`,
      hint: 'Voice states belong to one model; export the voice again with this model (`pockettts export-voice`).',
      details: {path, what, voice: file, model: expected},
    })

  let tensors: ReadonlyMap<string, SafetensorsTensor>
  try {
    tensors = parseSafetensors({bytes, source: path}).tensors
  } catch (error) {
    throw isPocketTtsError(error) ? invalid(`not a valid safetensors file (${String(error.details['reason'])})`, error) : error
  }

  const prompt = tensors.get('audio_prompt')
  if (prompt !== undefined) {
    if (tensors.size > 1)
      throw invalid(`it has audio_prompt and other tensors (${[...tensors.keys()].filter((k) => k !== 'audio_prompt').join(', ')})`)
    return promptConditioning(prompt, model, invalid, mismatch)
  }

  const layers = new Map<
    number,
    {cache?: SafetensorsTensor; offset?: SafetensorsTensor; currentEnd?: SafetensorsTensor; pad?: SafetensorsTensor}
  >()
  const unknown: string[] = []
  for (const [name, tensor] of tensors) {
    const match = KEY.exec(name)
    if (match === null) {
      unknown.push(name)
      continue
    }
    const layer = Number(match[1])
    const entry = layers.get(layer) ?? {}
    if (match[2] === 'cache') entry.cache = tensor
    else if (match[2] === 'offset') entry.offset = tensor
    else if (match[2] === 'pad') entry.pad = tensor
    else entry.currentEnd = tensor
    layers.set(layer, entry)
  }
  if (unknown.length > 0) throw invalid(`unexpected tensors ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}`)
  if (layers.size === 0) throw invalid('it has no transformer.layers.*.self_attn tensors')
  if (layers.size !== model.layers) throw mismatch('layer count', layers.size, model.layers)

  const out: KvVoiceState['layers'][number][] = []
  let offset: number | undefined
  let legacyCurrentEnd = false
  for (let i = 0; i < model.layers; i += 1) {
    const entry = layers.get(i)
    const key = voiceLayerKey(i)
    if (entry === undefined)
      throw invalid(`layer ${i} is missing (the layers are numbered ${[...layers.keys()].sort((a, b) => a - b).join(', ')})`)
    const {cache} = entry
    if (cache === undefined) throw invalid(`${key}/cache is missing`)
    if (cache.dtype !== 'F32') throw invalid(`${key}/cache is ${cache.dtype}, not F32`)
    const [two, batch, length, heads, headDim] = cache.shape
    if (cache.shape.length !== 5 || two !== 2 || batch !== 1)
      throw invalid(`${key}/cache has shape [${cache.shape.join(', ')}], not [2, 1, P, heads, head_dim]`)
    if (heads !== model.heads) throw mismatch('attention heads', heads!, model.heads)
    if (entry.pad !== undefined) {
      const p = entry.pad
      if (p.dtype !== 'I64' || p.shape.length !== 1 || p.shape[0] !== 1)
        throw invalid(`${key}/pad is ${p.dtype} [${p.shape.join(', ')}], not I64 [1]`)
      if (p.data[0] !== 0n)
        throw invalid(`${key}/pad is ${String(p.data[0])}: a padded batch row, not a single voice state (pad must be 0)`)
    }
    if (headDim !== model.headDim) throw mismatch('head dim', headDim!, model.headDim)

    let layerOffset: number
    if (entry.offset !== undefined) {
      const o = entry.offset
      if (o.dtype !== 'I64' || o.shape.length !== 1 || o.shape[0] !== 1)
        throw invalid(`${key}/offset is ${o.dtype} [${o.shape.join(', ')}], not I64 [1]`)
      layerOffset = Number(o.data[0])
    } else if (entry.currentEnd !== undefined) {
      if (entry.currentEnd.shape.length !== 1) throw invalid(`${key}/current_end has shape [${entry.currentEnd.shape.join(', ')}], not [P]`)
      layerOffset = entry.currentEnd.shape[0]!
      legacyCurrentEnd = true
    } else throw invalid(`${key} has neither offset nor current_end`)
    if (!(layerOffset >= 0 && layerOffset <= length!)) throw invalid(`${key} has offset ${layerOffset} but only ${length} cached positions`)
    if (offset !== undefined && layerOffset !== offset)
      throw invalid(`layers disagree on the offset (${offset} vs ${layerOffset} at layer ${i})`)
    offset = layerOffset
    if (hasNaNInFilled(cache.data as Float32Array, length!, heads! * headDim!, layerOffset))
      throw invalid(`${key}/cache has NaN in its first ${layerOffset} positions`)
    out.push({cache: cache.data as Float32Array, length: length!})
  }
  return {kind: 'kv-state', layers: out, offset: offset!, heads: model.heads, headDim: model.headDim, legacyCurrentEnd}
}

function promptConditioning(
  prompt: SafetensorsTensor,
  model: VoiceModelDims,
  invalid: (why: string) => UsageError,
  mismatch: (what: string, file: number, expected: number) => UsageError,
): PromptVoiceConditioning {
  const [batch, frames, dModel] = prompt.shape
  if (prompt.shape.length !== 3 || batch !== 1) throw invalid(`audio_prompt has shape [${prompt.shape.join(', ')}], not [1, T, d_model]`)
  if (dModel !== model.dModel) throw mismatch('conditioning width (d_model)', dModel!, model.dModel)
  const conditioning = toFloat32(prompt)
  if (conditioning === undefined) throw invalid(`audio_prompt is ${prompt.dtype}, not a float tensor`)
  if (conditioning.some(Number.isNaN)) throw invalid('audio_prompt has NaN values')
  return {kind: 'audio-prompt', conditioning, frames: frames!, dModel: dModel!}
}

function toFloat32(t: SafetensorsTensor): Float32Array | undefined {
  switch (t.dtype) {
    case 'F32':
      return t.data
    case 'F64':
      return Float32Array.from(t.data)
    case 'BF16':
      return new Float32Array(Uint32Array.from(t.data, (bits) => bits << 16).buffer)
    case 'F16':
      return Float32Array.from(t.data, halfToFloat)
    default:
      return undefined
  }
}

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >> 10) & 0x1f
  const fraction = bits & 0x3ff
  if (exponent === 0) return sign * fraction * 2 ** -24
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15)
}

/** NaN among positions [0, filled) of both K and V of a `[2, 1, length, heads, headDim]` cache. */
function hasNaNInFilled(cache: Float32Array, length: number, perPosition: number, filled: number): boolean {
  for (let kv = 0; kv < 2; kv += 1) {
    const start = kv * length * perPosition
    for (let i = start; i < start + filled * perPosition; i += 1) if (Number.isNaN(cache[i]!)) return true
  }
  return false
}
