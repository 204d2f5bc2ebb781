import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import type * as ort from 'onnxruntime-node'
import {ModelError} from '../errors/index.js'
import type {KvLayout} from '../flowlm/kv-cache.js'
import type {ChainedState} from '../mimi/mimi-decoder-stream.js'
import {createSessions, type Sessions} from '../onnx/create-sessions.js'
import {loadSentencePieceTokenizer, type TextFrontEnd} from '../text/index.js'

/** The graphs the engine runs for every synthesis; `mimi_encoder` is loaded on first use (voice prompts). */
export const coreGraphs = ['text_conditioner', 'flow_lm_main', 'flow_lm_flow', 'latent_to_mimi', 'mimi_decoder'] as const
export type CoreGraph = (typeof coreGraphs)[number]

export interface EngineDims extends KvLayout {
  readonly dModel: number
  readonly latentDim: number
  readonly mimiInputDim: number
  readonly frameSize: number
  readonly sampleRate: number
}

/** An exported model folder, loaded: sessions keyed by graph name, dimensions, state tables, text front-end. */
export interface EngineModel {
  readonly dir: string
  readonly generation: 'v1' | 'v2'
  readonly dims: EngineDims
  readonly sessions: Sessions<CoreGraph>
  /** Rows to preallocate for the FlowLM KV cache (manifest capacities.flow_kv_positions). */
  readonly kvCapacity: number
  readonly mimiStates: readonly ChainedState[]
  readonly text: TextFrontEnd
  /** Voice files shipped in the folder: name → absolute path. */
  readonly voices: Readonly<Record<string, string>>
  /** The voice encoder session, created on first call. */
  encoder(): Promise<ort.InferenceSession>
  release(): Promise<void>
}

interface ManifestTensor {
  readonly name: string
  readonly dtype: 'float32' | 'int64' | 'bool'
  readonly shape: readonly (number | string)[]
}
interface ManifestGraph {
  readonly file: string
  readonly inputs: readonly ManifestTensor[]
  readonly outputs: readonly ManifestTensor[]
  readonly state: readonly {input: string; output: string; kind: string; init: string}[]
}
interface EngineManifest {
  readonly format: string
  readonly generation: 'v1' | 'v2'
  readonly model: Record<string, unknown>
  readonly capacities: {readonly flow_kv_positions: number}
  readonly graphs: Readonly<Record<string, ManifestGraph>>
  readonly tokenizer: {readonly path: string}
  readonly voices: readonly {readonly path: string; readonly kind: string}[]
}

export interface LoadEngineModelParams {
  /** An exported model folder (manifest.json + graphs). */
  readonly dir: string
  /** onnxruntime intra-op threads. @default physical cores */
  readonly threads?: number
}

/** Reads manifest.json, creates the sessions and the text front-end of an exported model folder. */
export async function loadEngineModel(params: LoadEngineModelParams): Promise<EngineModel> {
  const manifest = await readManifest(params.dir)
  const m = manifest.model
  const num = (key: string): number => {
    const value = m[key]
    if (typeof value !== 'number') throw manifestError(params.dir, `model.${key} is missing`)
    return value
  }
  const dims: EngineDims = {
    dModel: num('d_model'),
    layers: num('num_layers'),
    heads: num('num_heads'),
    headDim: num('head_dim'),
    latentDim: num('latent_dim'),
    mimiInputDim: num('mimi_input_dim'),
    frameSize: num('frame_size'),
    sampleRate: num('sample_rate'),
  }
  const files = Object.fromEntries(coreGraphs.map((name) => [name, graphOf(manifest, params.dir, name).file])) as Record<CoreGraph, string>
  const sessionOptions = params.threads === undefined ? {} : {threads: params.threads}
  const sessions = await createSessions({dir: params.dir, files, ...sessionOptions})
  const tokenizer = await loadSentencePieceTokenizer({path: join(params.dir, manifest.tokenizer.path), expectedVocabSize: num('vocab_size')})
  const recommended = m['model_recommended_frames_after_eos']
  let encoder: Promise<ort.InferenceSession> | undefined
  return {
    dir: params.dir,
    generation: manifest.generation,
    dims,
    sessions,
    kvCapacity: manifest.capacities.flow_kv_positions,
    mimiStates: mimiStatesOf(graphOf(manifest, params.dir, 'mimi_decoder')),
    text: {
      tokenizer,
      config: {
        tokenizerPath: tokenizer.path,
        padWithSpaces: m['pad_with_spaces_for_short_inputs'] === true,
        removeSemicolons: m['remove_semicolons'] === true,
        recommendedFramesAfterEos: typeof recommended === 'number' ? recommended : null,
        frameRate: num('frame_rate'),
        nBins: num('vocab_size'),
      },
    },
    voices: Object.fromEntries(
      manifest.voices
        .filter((v) => v.kind === 'kv_state')
        .map((v) => [v.path.replace(/^.*\//, '').replace(/\.safetensors$/, ''), join(params.dir, v.path)]),
    ),
    encoder() {
      encoder ??= createSessions({dir: params.dir, files: {mimi_encoder: graphOf(manifest, params.dir, 'mimi_encoder').file}, ...sessionOptions}).then(
        (s) => s.mimi_encoder,
      )
      return encoder
    },
    async release() {
      await Promise.all([...Object.values<ort.InferenceSession>(sessions), ...(encoder === undefined ? [] : [await encoder])].map((s) => s.release()))
    },
  }
}

function mimiStatesOf(graph: ManifestGraph): ChainedState[] {
  return graph.state.map((link) => {
    const spec = graph.inputs.find((i) => i.name === link.input)
    if (spec === undefined || spec.shape.some((d) => typeof d !== 'number')) {
      throw new ModelError({code: 'MANIFEST_INVALID', message: `mimi_decoder state ${link.input} has no fixed shape in the manifest.`, hint: 'Export the model again.'})
    }
    return {input: link.input, output: link.output, dtype: spec.dtype, shape: spec.shape as number[], init: link.init === 'ones' ? 'ones' : 'zeros'}
  })
}

function graphOf(manifest: EngineManifest, dir: string, name: string): ManifestGraph {
  const graph = manifest.graphs[name]
  if (graph === undefined) throw manifestError(dir, `it has no graph ${name}`)
  return graph
}

async function readManifest(dir: string): Promise<EngineManifest> {
  const path = join(dir, 'manifest.json')
  if (!existsSync(path)) {
    throw new ModelError({
      code: 'MODEL_NOT_FOUND',
      message: `${dir} is not an exported model folder (no manifest.json).`,
      hint: 'Pass a folder written by `pockettts model export`, or omit --model to use the embedded model.',
    })
  }
  try {
    return JSON.parse(await readFile(path, 'utf8')) as EngineManifest
  } catch (error) {
    throw new ModelError({code: 'MANIFEST_INVALID', message: `${path} is not valid JSON.`, hint: 'Export the model again.', cause: error})
  }
}

function manifestError(dir: string, what: string): ModelError {
  return new ModelError({code: 'MANIFEST_INVALID', message: `The manifest of ${dir} is not usable: ${what}.`, hint: 'Export the model again with `pockettts model export`.'})
}
