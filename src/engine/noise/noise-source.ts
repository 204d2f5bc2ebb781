/**
 * Where the flow head's noise comes from: one `next(latentDim)` call per FlowLM call, in upstream's draw
 * order (voice prefill from audio, then per chunk the text prefill, then one per AR step including the
 * final step whose latent is dropped). Values are already scaled (std = sqrt(temperature), clamped when a
 * noise clamp is set).
 */
export interface NoiseSource {
  next(count: number): Float32Array
}
