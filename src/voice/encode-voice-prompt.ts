import type * as ort from 'onnxruntime-node'
import {runGraph} from '../onnx/run-graph.js'
import {f32, floats} from '../onnx/tensors.js'

export interface EncodeVoicePromptParams {
  /** The `mimi_encoder` session. */
  readonly encoder: ort.InferenceSession
  /** Mono prompt samples at the model's sample rate (as `loadAudioPrompt` returns them). */
  readonly audio: Float32Array
  /** Samples per latent frame (1920). */
  readonly frameSize: number
  readonly dModel: number
}

export interface EncodedVoicePrompt {
  /** Speaker-projected conditioning, voice BOS first for v2 models: [positions, dModel] flattened. */
  readonly conditioning: Float32Array
  /** Conditioning positions (latent frames, + 1 with the voice BOS). */
  readonly positions: number
  /** The Mimi encoder latent [voiceLatentDim, frames] flattened (golden `mimi_latent`). */
  readonly mimiLatent: Float32Array
  readonly frames: number
}

/** Upstream's prompt encoding: zero-pad on the right to a multiple of the frame size, Mimi-encode, project. */
export async function encodeVoicePrompt(params: EncodeVoicePromptParams): Promise<EncodedVoicePrompt> {
  const {frameSize} = params
  const frames = Math.max(1, Math.ceil(params.audio.length / frameSize))
  const padded = new Float32Array(frames * frameSize)
  padded.set(params.audio)
  const out = await runGraph('mimi_encoder', params.encoder, {audio: f32(padded, [1, 1, padded.length])})
  const conditioning = floats(out['conditioning'], 'conditioning')
  return {
    conditioning,
    positions: conditioning.length / params.dModel,
    mimiLatent: floats(out['mimi_latent'], 'mimi_latent'),
    frames,
  }
}
