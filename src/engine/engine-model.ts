import {join} from 'node:path'
import type * as ort from 'onnxruntime-node'
import {ModelError} from '../errors/index.js'
import type {KvLayout} from '../flowlm/kv-cache.js'
import type {ChainedState} from '../mimi/mimi-decoder-stream.js'
import {graphEntry, readManifest, type GraphEntry} from '../model/index.js'
import {createSessions, type Sessions} from '../onnx/create-sessions.js'
import {loadSentencePieceTokenizer, textConfigFromManifest, type TextFrontEnd} from '../text/index.js'

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

export interface LoadEngineModelParams {
  /** An exported model folder (manifest.json + graphs). */
  readonly dir: string
  /** onnxruntime intra-op threads. @default physical cores */
  readonly threads?: number
}

/** Reads manifest.json, creates the sessions and the text front-end of an exported model folder. */
export async function loadEngineModel(params: LoadEngineModelParams): Promise<EngineModel> {
  const {manifest} = await readManifest({dir: params.dir})
  const m = manifest.model
  const dims: EngineDims = {
    dModel: m.d_model,
    layers: m.num_layers,
    heads: m.num_heads,
    headDim: m.head_dim,
    latentDim: m.latent_dim,
    mimiInputDim: m.mimi_input_dim,
    frameSize: m.frame_size,
    sampleRate: m.sample_rate,
  }
  const files = Object.fromEntries(coreGraphs.map((name) => [name, graphEntry(manifest, name).file])) as Record<CoreGraph, string>
  const sessionOptions = params.threads === undefined ? {} : {threads: params.threads}
  const sessions = await createSessions({dir: params.dir, files, ...sessionOptions})
  const tokenizer = await loadSentencePieceTokenizer({path: join(params.dir, manifest.tokenizer.path), expectedVocabSize: m.vocab_size})
  let encoder: Promise<ort.InferenceSession> | undefined
  return {
    dir: params.dir,
    generation: manifest.generation,
    dims,
    sessions,
    kvCapacity: manifest.capacities.flow_kv_positions,
    mimiStates: mimiStatesOf(graphEntry(manifest, 'mimi_decoder')),
    text: {tokenizer, config: textConfigFromManifest(manifest, params.dir)},
    voices: Object.fromEntries(
      manifest.voices
        .filter((v) => v.kind === 'kv_state')
        .map((v) => [v.path.replace(/^.*\//, '').replace(/\.safetensors$/, ''), join(params.dir, v.path)]),
    ),
    encoder() {
      encoder ??= createSessions({dir: params.dir, files: {mimi_encoder: graphEntry(manifest, 'mimi_encoder').file}, ...sessionOptions}).then(
        (s) => s.mimi_encoder,
      )
      return encoder
    },
    async release() {
      await Promise.all([...Object.values<ort.InferenceSession>(sessions), ...(encoder === undefined ? [] : [await encoder])].map((s) => s.release()))
    },
  }
}

function mimiStatesOf(graph: GraphEntry): ChainedState[] {
  return graph.state.map((link) => {
    const spec = graph.inputs.find((i) => i.name === link.input)
    if (spec === undefined || spec.shape.some((d) => typeof d !== 'number')) {
      throw new ModelError({code: 'MANIFEST_INVALID', message: `mimi_decoder state ${link.input} has no fixed shape in the manifest.`, hint: 'Export the model again.'})
    }
    return {input: link.input, output: link.output, dtype: spec.dtype, shape: spec.shape as number[], init: link.init === 'ones' ? 'ones' : 'zeros'}
  })
}
