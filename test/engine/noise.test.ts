import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {SeededNormalNoise, Xoshiro128ss} from '../../src/engine/noise/index.js'
import {ReplayNoise} from '../helpers/replay-noise.js'
import {readGolden} from '../../src/golden/index.js'
import {NEEDS_ORACLE, ORACLE_TINY, skipWithoutOracle} from '../helpers/oracle.js'

function moments(x: Float32Array): {mean: number; variance: number; kurtosis: number; within1: number} {
  let mean = 0
  for (const v of x) mean += v
  mean /= x.length
  let m2 = 0
  let m4 = 0
  let within1 = 0
  for (const v of x) {
    const d = v - mean
    m2 += d * d
    m4 += d ** 4
  }
  m2 /= x.length
  m4 /= x.length
  for (const v of x) if (Math.abs(v) < Math.sqrt(m2)) within1 += 1
  return {mean, variance: m2, kurtosis: m4 / (m2 * m2), within1: within1 / x.length}
}

/** Variance of N(0, s²) truncated to [-a, a]. */
function truncatedVariance(s: number, a: number): number {
  const z = a / s
  const phi = Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI)
  // 2Φ(z) − 1 = erf(z / √2), by a series that is exact to double precision for z < 6.
  let erf = 0
  let term = z / Math.SQRT2
  for (let n = 0; n < 200; n += 1) {
    erf += term / (2 * n + 1)
    term *= -((z / Math.SQRT2) ** 2) / (n + 1)
  }
  erf *= 2 / Math.sqrt(Math.PI)
  return s * s * (1 - (2 * z * phi) / erf)
}

describe('noise sources', () => {
  it('xoshiro128** gives the reference outputs for state (1, 2, 3, 4)', () => {
    const rng = new Xoshiro128ss(1, 2, 3, 4)
    expect([rng.nextUint32(), rng.nextUint32(), rng.nextUint32()]).toEqual([11520, 0, 5927040])
    expect(() => new Xoshiro128ss(0, 0, 0, 0)).toThrow(RangeError)
  })

  it('seeded normal noise is reproducible per seed and N(0, temperature)', () => {
    const a = new SeededNormalNoise({seed: 42, temperature: 0.7})
    const b = new SeededNormalNoise({seed: 42, temperature: 0.7})
    const c = new SeededNormalNoise({seed: 43, temperature: 0.7})
    const first = a.next(32)
    expect(Array.from(b.next(32))).toEqual(Array.from(first))
    expect(Array.from(c.next(32))).not.toEqual(Array.from(first))
    const big = new SeededNormalNoise({seed: 1, temperature: 0.7}).next(200_000)
    const m = moments(big)
    expect(Math.abs(m.mean)).toBeLessThan(0.01)
    expect(m.variance / 0.7).toBeGreaterThan(0.98)
    expect(m.variance / 0.7).toBeLessThan(1.02)
    expect(Math.abs(m.kurtosis - 3)).toBeLessThan(0.1)
    expect(Math.abs(m.within1 - 0.6827)).toBeLessThan(0.005)
  })

  it('clamped noise is a truncated normal within the absolute bounds, wide or narrow', () => {
    for (const [temperature, clamp] of [
      [0.5, 1.5],
      [1, 0.1],
    ] as const) {
      const x = new SeededNormalNoise({seed: 9, temperature, clamp}).next(100_000)
      expect(Math.max(...Array.from(x, Math.abs))).toBeLessThanOrEqual(clamp)
      const m = moments(x)
      const expected = truncatedVariance(Math.sqrt(temperature), clamp)
      expect(Math.abs(m.mean)).toBeLessThan(0.01 * clamp)
      expect(m.variance / expected).toBeGreaterThan(0.98)
      expect(m.variance / expected).toBeLessThan(1.02)
    }
  })

  it('temperature 0 gives exact zeros; bad settings are usage errors', () => {
    expect(Array.from(new SeededNormalNoise({seed: 0, temperature: 0}).next(4))).toEqual([0, 0, 0, 0])
    expect(Array.from(new SeededNormalNoise({seed: 0, temperature: 0, clamp: 1}).next(2))).toEqual([0, 0])
    expect(() => new SeededNormalNoise({seed: 0, temperature: -1})).toThrow(expect.objectContaining({code: 'INVALID_TEMPERATURE'}))
    expect(() => new SeededNormalNoise({seed: 0, temperature: 1, clamp: 0})).toThrow(expect.objectContaining({code: 'INVALID_NOISE_CLAMP'}))
  })
})

describe.skipIf(skipWithoutOracle)(`noise replay ${NEEDS_ORACLE}`, () => {
  it("replays a golden case's tape in upstream's draw order, then reports that it ran out", async () => {
    const golden = await readGolden({dir: join(ORACLE_TINY, 'golden', 'long')})
    const tape = await ReplayNoise.fromGolden({golden})
    const chunks = golden.manifest.chunks!
    expect(tape.remaining).toBe(chunks.reduce((n, c) => n + 1 + c.steps, 0))
    const prefill0 = (await golden.tensor('chunk0.prefill_noise')).data
    const steps0 = (await golden.tensor('chunk0.noise')).data
    const prefill1 = (await golden.tensor('chunk1.prefill_noise')).data
    expect(Array.from(tape.next(32))).toEqual(Array.from(prefill0))
    expect(Array.from(tape.next(32))).toEqual(Array.from(steps0.subarray(0, 32)))
    expect(Array.from(tape.next(32))).toEqual(Array.from(steps0.subarray(32, 64)))
    for (let i = 3; i < 1 + chunks[0]!.steps; i += 1) tape.next(32)
    expect(Array.from(tape.next(32))).toEqual(Array.from(prefill1))
    expect(() => tape.next(16)).toThrow(expect.objectContaining({code: 'NOISE_TAPE_MISMATCH'}))
    while (tape.remaining > 0) tape.next(32)
    expect(() => tape.next(32)).toThrow(expect.objectContaining({code: 'NOISE_TAPE_EXHAUSTED'}))
  })

  it('returns recorded values verbatim: the clamped case stays within its clamp', async () => {
    const golden = await readGolden({dir: join(ORACLE_TINY, 'golden', 'lsd4')})
    expect(golden.manifest.case?.noise_clamp).toBe(1.5)
    const tape = await ReplayNoise.fromGolden({golden, chunks: [0]})
    let max = 0
    while (tape.remaining > 0) for (const v of tape.next(32)) max = Math.max(max, Math.abs(v))
    expect(max).toBeGreaterThan(0.5)
    expect(max).toBeLessThanOrEqual(1.5)
  })
})
