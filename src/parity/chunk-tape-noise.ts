import type {NoiseSource} from '../engine/noise/index.js'
import type {GoldenCase} from '../golden/index.js'
import {asFloats, row} from './golden-cases.js'

/**
 * Replays a golden's noise tape chunk by chunk (`chunk{c}.prefill_noise`, then the rows of `chunk{c}.noise`),
 * switched by `startChunk` at each chunk start, so that a run that draws more or fewer times than upstream
 * in one chunk stays aligned in the next. Draws past the end of a chunk's tape are zeros and counted: the
 * run has already diverged there (its step count differs), and parity reports that instead of crashing.
 */
export class ChunkTapeNoise implements NoiseSource {
  private chunk = -1
  private index = 0
  /** Draws that found no recorded row. */
  overruns = 0

  private constructor(private readonly tapes: readonly (readonly Float32Array[])[]) {}

  /**
   * The tape of a golden. A golden without `chunk{c}.prefill_noise` (upstream 4.x goldens leave it out) replays
   * zeros for that draw: upstream discards the latent the text prefill samples, so its noise changes nothing.
   */
  static async fromGolden(golden: GoldenCase, latentDim: number): Promise<ChunkTapeNoise> {
    const chunks = golden.manifest.chunks ?? []
    golden.requireTensors(chunks.map((_, c) => `chunk${c}.noise`))
    const tapes: Float32Array[][] = []
    for (const [c] of chunks.entries()) {
      const name = `chunk${c}.prefill_noise`
      const prefill = golden.has(name) ? asFloats(await golden.tensor(name)) : new Float32Array(latentDim)
      const steps = await golden.tensor(`chunk${c}.noise`)
      const data = asFloats(steps)
      tapes.push([prefill, ...Array.from({length: steps.shape[0] ?? 0}, (_, k) => row(data, steps.shape, k))])
    }
    return new ChunkTapeNoise(tapes)
  }

  /** Moves to chunk `c`'s tape (called when the chunk starts, before its text prefill draw). */
  startChunk(c: number): void {
    this.chunk = c
    this.index = 0
  }

  next(count: number): Float32Array {
    const recorded = this.tapes[this.chunk]?.[this.index]
    this.index += 1
    if (recorded === undefined || recorded.length !== count) {
      this.overruns += 1
      return new Float32Array(count)
    }
    return Float32Array.from(recorded)
  }
}
