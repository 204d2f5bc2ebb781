import {linspaceF32} from '../audio/linspace-f32.js'

/**
 * Upstream 4.x's fade-in of each chunk's first audio (`torch.linspace(0, 1, sample_rate // 200)` for its 5 ms,
 * multiplied into the first samples of the chunk's first decoded frame): a fresh Mimi decoder state starts
 * with a small step. `ms` = 0 gives an empty curve (2.1.0: no fade).
 */
export function fadeInCurve(sampleRate: number, ms: number): Float32Array {
  return linspaceF32(0, 1, Math.floor((sampleRate * ms) / 1000))
}

/** A copy of `audio` with `curve` multiplied into its first samples (float32 products, as torch). */
export function applyFadeIn(audio: Float32Array, curve: Float32Array): Float32Array {
  const out = Float32Array.from(audio)
  const n = Math.min(curve.length, out.length)
  for (let i = 0; i < n; i += 1) out[i] = Math.fround((out[i] ?? 0) * (curve[i] ?? 0))
  return out
}
