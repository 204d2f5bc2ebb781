import {UsageError} from '../../errors/index.js'
import type {NoiseSource} from './noise-source.js'
import {Xoshiro128ss} from './xoshiro128ss.js'

export interface SeededNormalNoiseParams {
  readonly seed: number
  /** Upstream `temp`: the noise std is sqrt(temperature); 0 gives exact zeros. */
  readonly temperature: number
  /** Upstream `noise_clamp`: draws are truncated to [-clamp, clamp] (absolute bounds). null: no clamp. */
  readonly clamp?: number | null
}

/**
 * Seeded Gaussian noise for the flow head: xoshiro128** uniforms (53-bit), Box–Muller normals, scaled by
 * sqrt(temperature); with a clamp, a truncated normal on [-clamp, clamp] by rejection (normal proposals
 * when the bounds are wide, uniform proposals accepted with the Gaussian density when they are narrow).
 * Statistically what upstream draws, but never torch's numbers: torch's generator cannot be reproduced in
 * JavaScript, so a seed here does not give the audio upstream gives for the same seed (replay a recorded
 * noise tape for that).
 */
export class SeededNormalNoise implements NoiseSource {
  private readonly rng: Xoshiro128ss
  private readonly std: number
  private readonly clamp: number | null
  private spare: number | undefined

  constructor(params: SeededNormalNoiseParams) {
    const {temperature} = params
    if (!Number.isFinite(temperature) || temperature < 0) {
      throw new UsageError({
        code: 'INVALID_TEMPERATURE',
        message: `Temperature must be a number ≥ 0 (got ${temperature}).`,
        hint: 'Use e.g. --temperature 0.7 (upstream default).',
      })
    }
    const clamp = params.clamp ?? null
    if (clamp !== null && !(clamp > 0 && Number.isFinite(clamp))) {
      throw new UsageError({
        code: 'INVALID_NOISE_CLAMP',
        message: `The noise clamp must be a positive number (got ${clamp}).`,
        hint: 'Omit it for unclamped noise, or use e.g. --noise-clamp 1.5.',
      })
    }
    this.rng = Xoshiro128ss.fromSeed(params.seed)
    this.std = Math.sqrt(temperature)
    this.clamp = clamp
  }

  next(count: number): Float32Array {
    const out = new Float32Array(count)
    if (this.std === 0) return out
    for (let i = 0; i < count; i += 1) out[i] = this.clamp === null ? this.normal() * this.std : this.truncated(this.clamp)
    return out
  }

  /** N(0, std²) conditioned on |x| ≤ bound. */
  private truncated(bound: number): number {
    const ratio = bound / this.std
    if (ratio >= 1) {
      for (;;) {
        const x = this.normal() * this.std
        if (Math.abs(x) <= bound) return x
      }
    }
    for (;;) {
      const x = (2 * this.rng.nextDouble() - 1) * bound
      const z = x / this.std
      if (this.rng.nextDouble() < Math.exp(-0.5 * z * z)) return x
    }
  }

  /** Standard normal by Box–Muller (the second value of each pair is kept for the next call). */
  private normal(): number {
    if (this.spare !== undefined) {
      const value = this.spare
      this.spare = undefined
      return value
    }
    const u1 = 1 - this.rng.nextDouble()
    const u2 = this.rng.nextDouble()
    const r = Math.sqrt(-2 * Math.log(u1))
    this.spare = r * Math.sin(2 * Math.PI * u2)
    return r * Math.cos(2 * Math.PI * u2)
  }
}
