import type * as ort from 'onnxruntime-node'
import {runGraph} from '../onnx/run-graph.js'
import {f32, filled, floats} from '../onnx/tensors.js'

/** One streaming state of the Mimi decoder: fed as `input`, returned as `output`, same shape. */
export interface ChainedState {
  readonly input: string
  readonly output: string
  readonly dtype: 'float32' | 'int64' | 'bool'
  readonly shape: readonly number[]
  readonly init: 'zeros' | 'ones'
}

export interface MimiDecoderStreamParams {
  readonly latentToMimi: ort.InferenceSession
  readonly decoder: ort.InferenceSession
  /** Every state of `mimi_decoder`, from the manifest's state table. */
  readonly states: readonly ChainedState[]
  /** Channels of the decoder input (quantizer output dimension). */
  readonly mimiInputDim: number
  readonly latentDim: number
}

export interface DecodedFrame {
  /** The decoder input of this frame [mimiInputDim] (golden `mimi_input`). */
  readonly mimiInput: Float32Array
  /** 1920 samples at 24 kHz, not clamped. */
  readonly audio: Float32Array
}

/**
 * Mimi decoded one latent at a time with explicit streaming state, as upstream's decoder worker does:
 * latent_to_mimi (de-normalise + quantizer) then one mimi_decoder step; each state output feeds the next call.
 * `reset()` restarts from the initial state (upstream re-initialises Mimi for every text chunk).
 */
export class MimiDecoderStream {
  private state: Record<string, ort.Tensor> = {}
  private disposed = false

  constructor(private readonly params: MimiDecoderStreamParams) {
    this.reset()
  }

  reset(): void {
    this.releaseState()
    this.disposed = false
    this.state = Object.fromEntries(this.params.states.map((s) => [s.input, filled(s.dtype, s.shape, s.init === 'ones' ? 1 : 0)]))
  }

  /**
   * Drops the state (decoding afterwards throws until `reset()`). The Mimi worker calls it when a stream closes:
   * there the last state's tensors (~2 MB at the real size) stayed reachable after the stream was forgotten, one
   * set per stream, whatever the collections did; releasing their data explicitly returns it.
   */
  dispose(): void {
    this.releaseState()
    this.disposed = true
  }

  /** De-normalises and projects one normalised latent [latentDim], then decodes it. */
  async decodeLatent(latent: Float32Array): Promise<DecodedFrame> {
    const out = await runGraph('latent_to_mimi', this.params.latentToMimi, {latent: f32(latent, [1, 1, this.params.latentDim])})
    return this.decodeMimiInput(floats(out['mimi_input'], 'mimi_input'))
  }

  /**
   * Decodes consecutive normalised latents in one call of each graph (the same audio as one by one; a bigger
   * batch runs the transformer and convolutions more efficiently). Needs an export whose mimi_decoder takes
   * `n_frames` (older ones take exactly one frame).
   */
  async decodeLatents(latents: readonly Float32Array[]): Promise<DecodedFrame[]> {
    const {latentDim, mimiInputDim} = this.params
    const n = latents.length
    if (n === 1) return [await this.decodeLatent(latents[0] as Float32Array)]
    const packed = new Float32Array(n * latentDim)
    latents.forEach((latent, j) => packed.set(latent, j * latentDim))
    const projected = await runGraph('latent_to_mimi', this.params.latentToMimi, {latent: f32(packed, [1, n, latentDim])})
    const mimiInput = floats(projected['mimi_input'], 'mimi_input') // [1, C, n], channels first
    const out = await runGraph('mimi_decoder', this.params.decoder, {mimi_input: f32(mimiInput, [1, mimiInputDim, n]), ...this.liveState()})
    this.takeState(out)
    const audio = floats(out['audio'], 'audio')
    const frame = audio.length / n
    return latents.map((_, j) => ({
      mimiInput: Float32Array.from({length: mimiInputDim}, (_, c) => mimiInput[c * n + j] ?? Number.NaN),
      audio: audio.slice(j * frame, (j + 1) * frame),
    }))
  }

  /** Decodes one frame from the decoder input [mimiInputDim] (parity feeds the golden's `mimi_input` here). */
  async decodeMimiInput(mimiInput: Float32Array): Promise<DecodedFrame> {
    const out = await runGraph('mimi_decoder', this.params.decoder, {
      mimi_input: f32(mimiInput, [1, this.params.mimiInputDim, 1]),
      ...this.liveState(),
    })
    this.takeState(out)
    return {mimiInput, audio: floats(out['audio'], 'audio')}
  }

  private releaseState(): void {
    for (const tensor of Object.values(this.state)) tensor.dispose()
    this.state = {}
  }

  private liveState(): Record<string, ort.Tensor> {
    if (this.disposed) throw new Error('this Mimi decoder stream was disposed; reset() it before decoding')
    return this.state
  }

  private takeState(out: Record<string, ort.Tensor>): void {
    for (const s of this.params.states) {
      const next = out[s.output]
      if (next === undefined) throw new Error(`mimi_decoder did not return state ${s.output}`)
      this.state[s.input] = next
    }
  }
}
