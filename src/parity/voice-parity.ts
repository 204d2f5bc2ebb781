import {readFile} from 'node:fs/promises'
import {basename} from 'node:path'
import {endOnPause, loadAudioPrompt} from '../audio/index.js'
import type {EngineModel} from '../engine/engine-model.js'
import {SeededNormalNoise} from '../engine/noise/index.js'
import {prefillVoice} from '../engine/prefill-voice.js'
import {UsageError} from '../errors/index.js'
import {GOLDEN_FORMAT, type GoldenCase, type GoldenTensor, type TensorSource} from '../golden/index.js'
import {encodeVoicePrompt} from '../voice/encode-voice-prompt.js'
import {encodeVoiceState} from '../voice/index.js'
import type {CheckRecorder} from './check-recorder.js'
import {compareVoiceStates} from './compare-voice-states.js'
import {asFloats, isV4Golden, resolveCaseFile} from './golden-cases.js'
import {MemoryGolden} from './memory-golden.js'

export interface VoiceParityParams {
  readonly model: EngineModel
  readonly golden: GoldenCase
  readonly recorder: CheckRecorder
}

/**
 * Teacher-forced parity of a voice case: the prompt reading against the golden `audio`; the Mimi encoder
 * (mimi_encoder) on the golden `audio` against `mimi_latent` and `conditioning`; the FlowLM voice prefill
 * on the golden `conditioning` against the voice state file the manifest names.
 */
export async function teacherVoice(params: VoiceParityParams): Promise<void> {
  const {model, golden, recorder: rec} = params
  if (!rec.wants('voice')) return
  golden.requireTensors(['audio', 'conditioning'])
  const audio = await golden.tensor('audio')
  const prompt = promptFile(params)
  if (prompt === undefined)
    rec.skip({stage: 'voice', tensor: 'audio', reason: 'prompt reading not checked: the manifest names no prompt file that exists'})
  else {
    const read = await readPrompt(model, prompt, truncateOf(golden))
    rec.compare({
      stage: 'voice',
      check: 'voice.audio',
      tensor: 'audio',
      location: {},
      actual: read.audio,
      golden: asFloats(audio),
      shape: audio.shape,
      actualShape: [1, 1, read.audio.length],
    })
  }
  const encoded = await encode(params, asFloats(audio))
  await compareEncoded(rec, golden, encoded, model.dims.dModel)
  const conditioning = await golden.tensor('conditioning')
  const kv = await prefillVoice({model, conditioning: asFloats(conditioning), noise: new SeededNormalNoise({seed: 0, temperature: 0})})
  await compareStates(rec, golden, model.dir, {bytes: stateBytes(model, kv), name: 'this runtime'})
}

/** The voice path run alone: prompt file → reading → Mimi encoder → prefill → voice state, as a golden. */
export async function freeVoice(params: Omit<VoiceParityParams, 'recorder'>): Promise<MemoryGolden> {
  const {model, golden} = params
  const prompt = promptFile(params)
  if (prompt === undefined) {
    throw new UsageError({
      code: 'GOLDEN_PROMPT_NOT_FOUND',
      message: `${golden.dir}: the voice prompt ${String(golden.manifest['prompt'])} of the case was not found.`,
      hint: 'Keep the voice golden beside its model folder (with the prompt WAV), or run the voice case teacher-forced only (--mode teacher).',
      details: {dir: golden.dir},
    })
  }
  const read = await readPrompt(model, prompt, truncateOf(golden))
  const encoded = await encode(params, read.audio)
  const kv = await prefillVoice({model, conditioning: encoded.conditioning, noise: new SeededNormalNoise({seed: 0, temperature: 0})})
  const {dModel} = model.dims
  const out = new MemoryGolden(`${golden.dir} (this runtime, free-running)`, {
    format: GOLDEN_FORMAT,
    kind: 'voice',
    source: {impl: 'pockettts (TypeScript, onnxruntime-node)', model: model.dir},
    prompt: basename(prompt),
    truncate_seconds: truncateOf(golden),
    voice_state: 'voice.safetensors',
    model: '.',
  })
  out.files.set(basename(prompt), {source: prompt})
  out.files.set('voice.safetensors', {bytes: stateBytes(model, kv)})
  out.set('audio', 'float32', [1, 1, read.audio.length], read.audio)
  out.set('mimi_latent', 'float32', [1, encoded.mimiLatent.length / encoded.frames, encoded.frames], encoded.mimiLatent)
  out.set('conditioning', 'float32', [1, encoded.conditioning.length / dModel, dModel], encoded.conditioning)
  return out
}

export interface CompareVoiceRunsParams {
  readonly reference: TensorSource
  readonly actual: TensorSource
  readonly recorder: CheckRecorder
  /** Side files (voice states) of each run: a folder to resolve them in, or the run itself. */
  readonly referenceState: () => Promise<{bytes: Uint8Array; name: string} | undefined>
  readonly actualState: () => Promise<{bytes: Uint8Array; name: string} | undefined>
}

/** Compares two complete runs of the voice path: prompt audio, Mimi latents, conditioning, voice state. */
export async function compareVoiceRuns(params: CompareVoiceRunsParams): Promise<void> {
  const {reference: ref, actual: act, recorder: rec} = params
  if (!rec.wants('voice')) return
  for (const [name, check] of [
    ['audio', 'voice.audio'],
    ['mimi_latent', 'voice.mimi_latent'],
    ['conditioning', 'voice.conditioning'],
  ] as const) {
    if (!ref.has(name) || !act.has(name)) {
      rec.skip({
        stage: 'voice',
        tensor: name,
        reason: ref.has(name) || act.has(name) ? `only in ${ref.has(name) ? ref.dir : act.dir}` : 'in neither run',
      })
      continue
    }
    const e = inExportLayout(ref, await ref.tensor(name))
    const a = inExportLayout(act, await act.tensor(name))
    rec.compare({stage: 'voice', check, tensor: name, location: {}, actual: a.data, golden: e.data, shape: e.shape, actualShape: a.shape})
  }
  const refState = await params.referenceState()
  const actState = await params.actualState()
  if (refState === undefined || actState === undefined) {
    rec.skip({stage: 'voice', tensor: 'voice_state', reason: 'voice state not compared: a run names none'})
    return
  }
  compareVoiceStates({recorder: rec, reference: refState, actual: actState})
}

/** The voice state file a voice golden names, read (undefined when it names none; an error when it is missing). */
export async function goldenVoiceState(
  golden: TensorSource & {readonly dir: string},
  modelDir?: string,
): Promise<{bytes: Uint8Array; name: string} | undefined> {
  const name = golden.manifest['voice_state']
  if (typeof name !== 'string') return undefined
  if (golden instanceof MemoryGolden) {
    const file = golden.files.get(name)
    return file?.bytes === undefined ? undefined : {bytes: file.bytes, name}
  }
  const found = resolveCaseFile({golden: golden as GoldenCase, name, caseFirst: true, ...(modelDir === undefined ? {} : {modelDir})})
  if (found.path === undefined) {
    throw new UsageError({
      code: 'GOLDEN_VOICE_STATE_NOT_FOUND',
      message: `${golden.dir}: the voice state ${name} named by the manifest was not found (looked for ${found.tried.join(', ')}).`,
      hint: 'Keep the voice golden beside its model folder, or next to its voice state file.',
      details: {dir: golden.dir, voiceState: name, tried: found.tried},
    })
  }
  return {bytes: new Uint8Array(await readFile(found.path)), name}
}

async function encode(
  params: Omit<VoiceParityParams, 'recorder'>,
  audio: Float32Array,
): Promise<{conditioning: Float32Array; mimiLatent: Float32Array; frames: number}> {
  const {model} = params
  const encoded = await encodeVoicePrompt({
    encoder: await model.encoder(),
    audio,
    frameSize: model.dims.frameSize,
    dModel: model.dims.dModel,
  })
  return {conditioning: encoded.conditioning, mimiLatent: encoded.mimiLatent, frames: encoded.frames}
}

async function compareEncoded(
  rec: CheckRecorder,
  golden: GoldenCase,
  encoded: {conditioning: Float32Array; mimiLatent: Float32Array; frames: number},
  dModel: number,
): Promise<void> {
  if (golden.has('mimi_latent')) {
    const e = inExportLayout(golden, await golden.tensor('mimi_latent'))
    rec.compare({
      stage: 'voice',
      check: 'voice.mimi_latent',
      tensor: 'mimi_latent',
      location: {},
      actual: encoded.mimiLatent,
      golden: e.data,
      shape: e.shape,
      actualShape: [1, encoded.mimiLatent.length / encoded.frames, encoded.frames],
    })
  } else rec.skip({stage: 'voice', tensor: 'mimi_latent', reason: 'not in the golden'})
  const e = await golden.tensor('conditioning')
  rec.compare({
    stage: 'voice',
    check: 'voice.conditioning',
    tensor: 'conditioning',
    location: {},
    actual: encoded.conditioning,
    golden: asFloats(e),
    shape: e.shape,
    actualShape: [1, encoded.conditioning.length / dModel, dModel],
  })
}

async function compareStates(
  rec: CheckRecorder,
  golden: GoldenCase,
  modelDir: string,
  actual: {bytes: Uint8Array; name: string},
): Promise<void> {
  const reference = await goldenVoiceState(golden, modelDir)
  if (reference === undefined) {
    rec.skip({stage: 'voice', tensor: 'voice_state', reason: 'the manifest names no voice_state'})
    return
  }
  compareVoiceStates({recorder: rec, reference, actual})
}

/** The prompt as upstream feeds its encoder: read (truncated, 24 kHz mono), and for 4.x trimmed by end_on_pause. */
async function readPrompt(model: EngineModel, path: string, truncateSeconds: number | null): Promise<{readonly audio: Float32Array}> {
  const read = await loadAudioPrompt({path, truncateSeconds, sampleRate: model.dims.sampleRate})
  return {audio: model.facts.endOnPauseVoice ? endOnPause(read.audio, model.dims.sampleRate) : read.audio}
}

function stateBytes(model: EngineModel, kv: Awaited<ReturnType<typeof prefillVoice>>): Uint8Array {
  return encodeVoiceState(
    {
      layers: kv.toLayerCaches().map((cache) => ({cache, length: kv.offset})),
      offset: kv.offset,
      heads: model.dims.heads,
      headDim: model.dims.headDim,
    },
    model.facts.voicePadKeys,
  )
}

function promptFile(params: Omit<VoiceParityParams, 'recorder'>): string | undefined {
  const name = params.golden.manifest['prompt']
  return typeof name === 'string'
    ? resolveCaseFile({golden: params.golden, name, caseFirst: true, modelDir: params.model.dir}).path
    : undefined
}

function truncateOf(golden: GoldenCase): number | null {
  const t = golden.manifest['truncate_seconds']
  return typeof t === 'number' ? t : t === null ? null : 30
}

/**
 * A voice tensor in the export's layout: 4.x records the encoder latent (`mimi_latent`) as [1, T, C], the export's
 * mimi_encoder gives [1, C, T] (2.1.0's layout); other tensors as they are.
 */
function inExportLayout(
  source: Pick<GoldenCase, 'manifest'>,
  tensor: GoldenTensor,
): {readonly data: Float32Array; readonly shape: readonly number[]} {
  const [one, t = 0, c = 0] = tensor.shape
  if (tensor.name !== 'mimi_latent' || !isV4Golden(source) || tensor.shape.length !== 3)
    return {data: asFloats(tensor), shape: tensor.shape}
  return {data: transposeLast(asFloats(tensor), t, c), shape: [one ?? 1, c, t]}
}

/** A row-major [rows, cols] matrix transposed to [cols, rows]. */
function transposeLast(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length)
  for (let r = 0; r < rows; r += 1) for (let k = 0; k < cols; k += 1) out[k * rows + r] = data[r * cols + k] ?? Number.NaN
  return out
}
