/**
 * `torch.linspace(start, end, steps)` in float32 as torch's CPU kernel computes it: the step rounded to
 * float32, the first half of the points from `start`, the rest from `end`, each a fused multiply-add (one
 * rounding). Checked point by point against torch 2.13 (the fades upstream 4.x applies are built with it).
 */
export function linspaceF32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(Math.max(0, steps))
  if (steps === 1) out[0] = start
  if (steps <= 1) return out
  const step = Math.fround((end - start) / (steps - 1))
  const half = Math.floor(steps / 2)
  for (let i = 0; i < steps; i += 1) out[i] = i < half ? Math.fround(start + step * i) : Math.fround(end - step * (steps - i - 1))
  return out
}
