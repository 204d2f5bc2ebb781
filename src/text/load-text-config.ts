import {existsSync, statSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {basename, dirname, isAbsolute, join, resolve} from 'node:path'
import {parse as parseYaml} from 'yaml'
import {ModelError} from '../errors/index.js'
import {readManifest} from '../model/read-manifest.js'
import {tokenizerKindOf, type TextConfig, type UpstreamRelease} from './text-config.js'
import {textConfigFromManifest} from './text-config-from-manifest.js'

export interface LoadTextConfigParams {
  /** A model folder (upstream format: `config.yaml` + `tokenizer.model`; or exported: `manifest.json`), or an upstream config `.yaml` file. */
  readonly model: string
  /** Whose text rules apply to an upstream-format folder (default 2.1.0). */
  readonly upstream?: UpstreamRelease
}

/**
 * Reads the text settings of a model: from an upstream-format folder's `config.yaml`
 * (`flow_lm.lookup_table.tokenizer_path`/`n_bins`, `pad_with_spaces_for_short_inputs`, `remove_semicolons`,
 * `model_recommended_frames_after_eos`, `mimi.frame_rate`). A relative `tokenizer_path` is resolved against
 * the config's folder; an `hf://` or URL path is looked for by its file name beside the config.
 */
export async function loadTextConfig(params: LoadTextConfigParams): Promise<TextConfig> {
  const model = resolve(params.model)
  if (!existsSync(model)) {
    throw new ModelError({
      code: 'MODEL_NOT_FOUND',
      message: `Model ${model} does not exist.`,
      hint: 'Pass a model folder (with config.yaml and tokenizer.model) to --model.',
      details: {model},
    })
  }
  const isFile = statSync(model).isFile()
  const configPath = isFile ? model : join(model, 'config.yaml')
  if (!existsSync(configPath)) {
    if (!isFile && existsSync(join(model, 'manifest.json'))) {
      const {manifest} = await readManifest({dir: model})
      return textConfigFromManifest(manifest, model)
    }
    throw new ModelError({
      code: 'MODEL_NOT_FOUND',
      message: `${model} has neither config.yaml nor manifest.json, so it is not a Pocket TTS model folder.`,
      hint: 'Pass an upstream-format model folder (config.yaml + tokenizer.model), an exported one (manifest.json), or the tokenizer itself with --tokenizer.',
      details: {model},
    })
  }
  const raw = parseConfig(await readFile(configPath, 'utf8'), configPath)
  const folder = dirname(configPath)
  const tokenizerPath = resolveTokenizerPath(raw.tokenizerPath, folder, configPath)
  return {
    tokenizerPath,
    tokenizerKind: tokenizerKindOf(tokenizerPath, raw.tokenizerKind),
    upstream: params.upstream ?? '2.1.0',
    replaceCharacters: raw.replaceCharacters,
    appendTerminalPunctuation: raw.appendTerminalPunctuation,
    capitalizeFirstLetter: raw.capitalizeFirstLetter,
    padWithSpaces: raw.padWithSpaces,
    removeSemicolons: raw.removeSemicolons,
    recommendedFramesAfterEos: raw.recommendedFramesAfterEos,
    frameRate: raw.frameRate,
    nBins: raw.nBins,
  }
}

interface RawTextConfig {
  tokenizerPath: string
  tokenizerKind: unknown
  replaceCharacters: Record<string, string>
  appendTerminalPunctuation: boolean
  capitalizeFirstLetter: boolean
  nBins: number
  padWithSpaces: boolean
  removeSemicolons: boolean
  recommendedFramesAfterEos: number | null
  frameRate: number
}

function parseConfig(source: string, configPath: string): RawTextConfig {
  const invalid = (what: string, cause?: unknown): ModelError =>
    new ModelError({
      code: 'MODEL_CONFIG_INVALID',
      message: `${configPath}: ${what}.`,
      hint: 'Use an upstream pocket_tts config.yaml (see pocket_tts/config/*.yaml).',
      details: {config: configPath},
      cause,
    })
  let doc: unknown
  try {
    doc = parseYaml(source)
  } catch (error) {
    throw invalid('is not valid YAML', error)
  }
  const get = (path: string[]): unknown => path.reduce<unknown>((node, key) => (isRecord(node) ? node[key] : undefined), doc)
  const tokenizerPath = get(['flow_lm', 'lookup_table', 'tokenizer_path'])
  if (typeof tokenizerPath !== 'string' || tokenizerPath === '') throw invalid('flow_lm.lookup_table.tokenizer_path is missing')
  const nBins = get(['flow_lm', 'lookup_table', 'n_bins'])
  if (!Number.isInteger(nBins) || (nBins as number) <= 0) throw invalid('flow_lm.lookup_table.n_bins must be a positive integer')
  const frameRate = get(['mimi', 'frame_rate'])
  if (typeof frameRate !== 'number' || !(frameRate > 0)) throw invalid('mimi.frame_rate must be a positive number')
  const flag = (key: string, fallback = false): boolean => {
    const value = get([key]) ?? fallback
    if (typeof value !== 'boolean') throw invalid(`${key} must be true or false`)
    return value
  }
  const recommended = get(['model_recommended_frames_after_eos']) ?? null
  if (recommended !== null && (!Number.isInteger(recommended) || (recommended as number) < 0)) {
    throw invalid('model_recommended_frames_after_eos must be a whole number or null')
  }
  const replace = get(['replace_characters']) ?? {}
  if (!isRecord(replace) || !Object.entries(replace).every(([k, v]) => [...k].length === 1 && typeof v === 'string')) {
    throw invalid('replace_characters must map single characters to strings')
  }
  return {
    tokenizerPath,
    tokenizerKind: get(['flow_lm', 'lookup_table', 'tokenizer']),
    replaceCharacters: replace as Record<string, string>,
    appendTerminalPunctuation: flag('append_terminal_punctuation', true),
    capitalizeFirstLetter: flag('capitalize_first_letter', true),
    nBins: nBins as number,
    padWithSpaces: flag('pad_with_spaces_for_short_inputs'),
    removeSemicolons: flag('remove_semicolons'),
    recommendedFramesAfterEos: recommended as number | null,
    frameRate,
  }
}

function resolveTokenizerPath(path: string, folder: string, configPath: string): string {
  if (/^(hf|https?):\/\//.test(path)) {
    const local = join(folder, basename(path.split('@')[0] ?? path))
    if (existsSync(local)) return local
    throw new ModelError({
      code: 'TOKENIZER_NOT_FOUND',
      message: `${configPath} names a remote tokenizer (${path}) and ${local} does not exist.`,
      hint: 'Download the model with `pockettts model download`, or pass the tokenizer file with --tokenizer.',
      details: {config: configPath, tokenizerPath: path},
    })
  }
  return isAbsolute(path) ? path : join(folder, path)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
