import {join} from 'node:path'
import type {ExportManifest} from '../model/manifest-types.js'
import {releaseFacts} from '../model/release-facts.js'
import {DEFAULT_TEXT_RULES, tokenizerKindOf, type TextConfig} from './text-config.js'

/**
 * The text settings of an exported model folder, from its manifest: the release's text rules (an export that
 * records no release is a 2.1.0 one) and the 4.x flags of the upstream config it keeps (`model.config`).
 */
export function textConfigFromManifest(manifest: ExportManifest, dir: string): TextConfig {
  const m = manifest.model
  const config = m.config
  const lookup = (config['flow_lm'] as {lookup_table?: {tokenizer?: unknown}} | undefined)?.lookup_table
  const replace = config['replace_characters']
  const flag = (key: string, fallback: boolean): boolean => (typeof config[key] === 'boolean' ? (config[key] as boolean) : fallback)
  return {
    tokenizerPath: join(dir, manifest.tokenizer.path),
    tokenizerKind: tokenizerKindOf(manifest.tokenizer.path, (m as {tokenizer?: unknown}).tokenizer ?? lookup?.tokenizer),
    padWithSpaces: m.pad_with_spaces_for_short_inputs,
    removeSemicolons: m.remove_semicolons,
    recommendedFramesAfterEos: m.model_recommended_frames_after_eos,
    frameRate: m.frame_rate,
    nBins: m.vocab_size,
    upstream: releaseFacts(manifest).upstream,
    replaceCharacters: isStringMap(replace) ? replace : DEFAULT_TEXT_RULES.replaceCharacters,
    appendTerminalPunctuation: flag('append_terminal_punctuation', DEFAULT_TEXT_RULES.appendTerminalPunctuation),
    capitalizeFirstLetter: flag('capitalize_first_letter', DEFAULT_TEXT_RULES.capitalizeFirstLetter),
  }
}

function isStringMap(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string')
}
