/**
 * Upstream 4.x's fade-in of each chunk's first audio (`torch.linspace(0, 1, sample_rate // 200)`, multiplied
 * into the first samples of the chunk's first decoded frame): a fresh Mimi decoder state starts with a small
 * step. The curve is computed as torch's CPU linspace does in float32 (from the start for the first half of
 * the points, from the end for the rest, that product fused into the subtraction: one rounding, as its FMA does).
 */
export function fadeInCurve(sampleRate: number, ms: number): Float32Array {
  const n = Math.floor((sampleRate * ms) / 1000)
  const curve = new Float32Array(n)
  if (n === 1) curve[0] = 0
  if (n <= 1) return curve
  const step = Math.fround(1 / (n - 1))
  const half = Math.floor(n / 2)
  for (let i = 0; i < n; i += 1) curve[i] = i < half ? Math.fround(step * i) : Math.fround(1 - step * (n - i - 1))
  return curve
}

/** A copy of `audio` with `curve` multiplied into its first samples (float32 products, as torch). */
export function applyFadeIn(audio: Float32Array, curve: Float32Array): Float32Array {
  const out = Float32Array.from(audio)
  const n = Math.min(curve.length, out.length)
  for (let i = 0; i < n; i += 1) out[i] = Math.fround((out[i] ?? 0) * (curve[i] ?? 0))
  return out
}
