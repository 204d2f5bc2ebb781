import {join} from 'node:path'
import type {ExportManifest} from '../model/manifest-types.js'
import {DEFAULT_TEXT_RULES, tokenizerKindOf, type TextConfig} from './text-config.js'

/** The text settings of an exported model folder, from its manifest. */
export function textConfigFromManifest(manifest: ExportManifest, dir: string): TextConfig {
  const m = manifest.model
  return {
    tokenizerPath: join(dir, manifest.tokenizer.path),
    tokenizerKind: tokenizerKindOf(manifest.tokenizer.path),
    padWithSpaces: m.pad_with_spaces_for_short_inputs,
    removeSemicolons: m.remove_semicolons,
    recommendedFramesAfterEos: m.model_recommended_frames_after_eos,
    frameRate: m.frame_rate,
    nBins: m.vocab_size,
    // exports are made with upstream 2.1.0 (4.x exports come with the engine's 4.x support)
    upstream: '2.1.0',
    ...DEFAULT_TEXT_RULES,
  }
}
