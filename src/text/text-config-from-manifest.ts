import {join} from 'node:path'
import type {ExportManifest} from '../model/manifest-types.js'
import type {TextConfig} from './text-config.js'

/** The text settings of an exported model folder, from its manifest. */
export function textConfigFromManifest(manifest: ExportManifest, dir: string): TextConfig {
  const m = manifest.model
  return {
    tokenizerPath: join(dir, manifest.tokenizer.path),
    padWithSpaces: m.pad_with_spaces_for_short_inputs,
    removeSemicolons: m.remove_semicolons,
    recommendedFramesAfterEos: m.model_recommended_frames_after_eos,
    frameRate: m.frame_rate,
    nBins: m.vocab_size,
  }
}
