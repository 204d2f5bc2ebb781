import {join} from 'node:path'
import type {ExportManifest} from '../model/manifest-types.js'
import {releaseFacts} from '../model/release-facts.js'
import {tokenizerKindOf, type TextConfig} from './text-config.js'

/**
 * The text settings of an exported model folder, from its manifest: the release's text rules and the config's
 * 4.x text flags (manifest.model facts).
 */
export function textConfigFromManifest(manifest: ExportManifest, dir: string): TextConfig {
  const m = manifest.model
  return {
    tokenizerPath: join(dir, manifest.tokenizer.path),
    tokenizerKind: tokenizerKindOf(manifest.tokenizer.path, m.tokenizer),
    padWithSpaces: m.pad_with_spaces_for_short_inputs,
    removeSemicolons: m.remove_semicolons,
    recommendedFramesAfterEos: m.model_recommended_frames_after_eos,
    frameRate: m.frame_rate,
    nBins: m.vocab_size,
    upstream: releaseFacts(manifest).upstream,
    replaceCharacters: m.replace_characters,
    appendTerminalPunctuation: m.append_terminal_punctuation,
    capitalizeFirstLetter: m.capitalize_first_letter,
  }
}
