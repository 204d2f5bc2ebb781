import {basename} from 'node:path'
import * as ort from 'onnxruntime-node'
import type {EngineModel} from '../engine/engine-model.js'
import {generateAudio} from '../engine/generate-audio.js'
import {flowLmStep} from '../flowlm/flow-lm-step.js'
import {KvCache} from '../flowlm/kv-cache.js'
import {GOLDEN_FORMAT, type GoldenCase, type GoldenChunk} from '../golden/index.js'
import {caseParams} from './case-params.js'
import {ChunkTapeNoise} from './chunk-tape-noise.js'
import {MemoryGolden} from './memory-golden.js'
import {concat, throwIfAborted} from './teacher-synthesis.js'

export interface FreeSynthesisParams {
  readonly model: EngineModel
  /** The golden whose text, parameters and noise tape are used. */
  readonly golden: GoldenCase
  readonly voice: KvCache
  /** The voice file (copied into a dump). */
  readonly voiceFile: string
  readonly signal?: AbortSignal
}

interface StepRecord {
  readonly input: Float32Array
  readonly layerOut: Float32Array
  readonly hidden: Float32Array
  readonly eosLogit: number
  readonly noise: Float32Array
  readonly latent: Float32Array
}

interface ChunkRecord {
  readonly text: string
  readonly ids: readonly number[]
  readonly framesAfterEos: number
  readonly maxGenLen: number
  readonly textEmbeddings: Float32Array
  prefillNoise: Float32Array
  readonly steps: StepRecord[]
  readonly mimiInput: Float32Array[]
  readonly audio: Float32Array[]
  eosStep: number | null
}

/**
 * Runs the engine's generation loop alone (`generateAudio`, the noise tape replayed) on a golden's text and
 * parameters, and returns what it computed in the golden layout: the tensors of FORMAT.md plus
 * `chunk{c}.prefill_kv` (the K/V rows the text prefill wrote, [n_tokens, layers, 2, heads, head_dim]).
 */
export async function freeSynthesis(params: FreeSynthesisParams): Promise<MemoryGolden> {
  const {model, golden, voice} = params
  const {dims} = model
  const gen = caseParams(golden.manifest)
  const tape = await ChunkTapeNoise.fromGolden(golden, dims.latentDim)
  const chunks: ChunkRecord[] = []
  const current = (c: number): ChunkRecord => {
    const record = chunks[c]
    if (record === undefined) throw new Error(`generation tap for unknown chunk ${c}`)
    return record
  }
  const nanRow = new Float32Array(dims.latentDim).fill(Number.NaN)
  for await (const frame of generateAudio({
    model,
    voice,
    text: golden.manifest.case?.text ?? '',
    params: gen,
    noise: tape,
    ...(params.signal === undefined ? {} : {signal: params.signal}),
    taps: {
      chunkStart: (info) => {
        tape.startChunk(info.chunk)
        chunks[info.chunk] = {
          text: info.text,
          ids: [...info.ids],
          framesAfterEos: info.framesAfterEos,
          maxGenLen: info.maxGenLen,
          textEmbeddings: Float32Array.from(info.textEmbeddings),
          prefillNoise: new Float32Array(0),
          steps: [],
          mimiInput: [],
          audio: [],
          eosStep: null,
        }
      },
      prefillNoise: (info) => {
        current(info.chunk).prefillNoise = Float32Array.from(info.noise)
      },
      step: (info) => {
        current(info.chunk).steps.push({
          input: info.input === null ? nanRow : Float32Array.from(info.input),
          layerOut: Float32Array.from(info.layerOut ?? new Float32Array(dims.layers * dims.dModel).fill(Number.NaN)),
          hidden: Float32Array.from(info.hidden),
          eosLogit: info.eosLogit,
          noise: Float32Array.from(info.noise),
          latent: Float32Array.from(info.latent),
        })
      },
      frame: (info) => {
        current(info.chunk).mimiInput.push(Float32Array.from(info.mimiInput))
      },
      chunkEnd: (info) => {
        current(info.chunk).eosStep = info.eosStep
      },
    },
  })) {
    current(frame.chunk).audio.push(Float32Array.from(frame.audio))
  }

  const out = new MemoryGolden(`${golden.dir} (this runtime, free-running)`, {
    format: GOLDEN_FORMAT,
    source: {
      impl: 'pockettts (TypeScript, onnxruntime-node)',
      onnxruntime: ort.env.versions.common ?? null,
      model: model.dir,
      noise_tape: golden.dir,
    },
    case: {...(golden.manifest.case ?? {text: ''}), voice: basename(params.voiceFile)},
    // the files the manifest names (the voice) are kept in the case folder itself
    model: '.',
    chunks: chunks.map((r): GoldenChunk => ({
      text: r.text,
      n_tokens: r.ids.length,
      max_gen_len: r.maxGenLen,
      frames_after_eos: r.framesAfterEos,
      eos_step: r.eosStep,
      steps: r.steps.length,
      frames: r.audio.length,
    })),
  })
  out.files.set(basename(params.voiceFile), {source: params.voiceFile})
  const {layers, heads, headDim, dModel, latentDim, mimiInputDim} = dims
  for (const [c, r] of chunks.entries()) {
    throwIfAborted(params.signal)
    out.set(
      `chunk${c}.tokens`,
      'int64',
      [r.ids.length],
      BigInt64Array.from(r.ids, (v) => BigInt(v)),
    )
    out.set(`chunk${c}.text_embeddings`, 'float32', [r.ids.length, dModel], r.textEmbeddings)
    out.set(`chunk${c}.prefill_noise`, 'float32', [latentDim], r.prefillNoise)
    out.set(
      `chunk${c}.prefill_kv`,
      'float32',
      [r.ids.length, layers, 2, heads, headDim],
      await textPrefillKv(model, voice, r.textEmbeddings),
    )
    out.setRows(
      `chunk${c}.step_input`,
      r.steps.map((s) => s.input),
      [latentDim],
    )
    out.setRows(
      `chunk${c}.layer_out`,
      r.steps.map((s) => s.layerOut),
      [layers, dModel],
    )
    out.setRows(
      `chunk${c}.hidden`,
      r.steps.map((s) => s.hidden),
      [dims.hiddenDim],
    )
    out.set(
      `chunk${c}.eos_logit`,
      'float32',
      [r.steps.length],
      Float32Array.from(r.steps, (s) => s.eosLogit),
    )
    out.setRows(
      `chunk${c}.noise`,
      r.steps.map((s) => s.noise),
      [latentDim],
    )
    out.setRows(
      `chunk${c}.latent`,
      r.steps.map((s) => s.latent),
      [latentDim],
    )
    out.setRows(`chunk${c}.mimi_input`, r.mimiInput, [mimiInputDim])
    const audio = concat(r.audio)
    out.set(`chunk${c}.audio`, 'float32', [audio.length], audio)
  }
  const whole = concat(chunks.flatMap((r) => r.audio))
  out.set('audio', 'float32', [whole.length], whole)
  return out
}

/** The K/V rows a chunk's text prefill writes after the voice (recomputed: the loop does not expose its cache). */
async function textPrefillKv(model: EngineModel, voice: KvCache, textEmbeddings: Float32Array): Promise<Float32Array> {
  const kv = new KvCache(voice.layout, voice.offset + textEmbeddings.length / model.dims.dModel)
  kv.copyFrom(voice)
  await flowLmStep({
    session: model.sessions.flow_lm_main,
    kv,
    state: model.flowLmState,
    dModel: model.dims.dModel,
    latentDim: model.dims.latentDim,
    conditioning: textEmbeddings,
  })
  return Float32Array.from((kv.past().data as Float32Array).subarray(voice.offset * kv.rowSize))
}
