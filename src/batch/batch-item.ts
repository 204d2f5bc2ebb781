import type {AudioFormat} from '../audio/index.js'
import type {GenerationParams} from '../engine/generation-params.js'

/** The settings a corpus line may set for itself (the command's flags give the defaults). */
export interface BatchItemSettings {
  /** A voice name of the model, or a voice `.safetensors` / `.wav` file (absolute once read). Undefined = the model's default. */
  readonly voice?: string
  readonly seed: number
  readonly params: GenerationParams
  readonly format: AudioFormat
  /** Seconds of silence appended to the output. */
  readonly trailingSilence: number
}

/** One corpus line, checked: what to say, where to write it, and how. */
export interface BatchItem extends BatchItemSettings {
  readonly id: string
  readonly text: string
  /** The 1-based line of the corpus file. */
  readonly line: number
  /** The output file name inside the output folder: `<id>.wav` (`<id>.pcm` for pcm16). */
  readonly file: string
}

/** The output file name of an item. */
export function outputFileName(id: string, format: AudioFormat): string {
  return `${id}.${format === 'pcm16' ? 'pcm' : 'wav'}`
}
