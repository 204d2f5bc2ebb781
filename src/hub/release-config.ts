import {UsageError} from '../errors/index.js'
import type {UpstreamRelease} from '../upstream/upstream-releases.js'
import type {UpstreamArchitecture} from './architectures.js'
import {ARCHITECTURES_4_0_1} from './architectures-4.js'
import {
  CONFIGS_4_0_1,
  isConfig4,
  isLanguage,
  languageEntry,
  languages,
  predefinedVoices,
  predefinedVoices4,
  voiceFile,
  voiceFile4,
  type HubFileRef,
} from './catalogue.js'
import type {ConfigTemplate} from './load-config-template.js'

/** One config of one upstream release, as `model download` fetches it. */
export interface ReleaseConfig {
  readonly upstream: UpstreamRelease
  /** The upstream config name (`english`, `english_2026-10`, `french_24l`, …). */
  readonly config: string
  /** The model folder, relative to the models folder: `<config>` for 2.1.0, `<release>/<config>` for newer ones. */
  readonly folder: string
  readonly weights: HubFileRef
  readonly weightsWithoutCloning: HubFileRef
  readonly tokenizer: HubFileRef
  /** The local tokenizer file name: `tokenizer.model` (SentencePiece) or `tokenizer.json` (HF tokenizers). */
  readonly tokenizerFile: 'tokenizer.model' | 'tokenizer.json'
  readonly defaultVoice: string
  /** The predefined voices this release has a state for. */
  readonly voices: readonly string[]
  readonly voiceFile: (voice: string) => HubFileRef
  /** The config without paths, for config.yaml (2.1.0: src/hub/architectures.ts; 4.0.1: contracts/architectures-4.0.1.json). */
  readonly architecture: UpstreamArchitecture | ConfigTemplate
}

/** The config names a release ships. */
export function releaseConfigNames(upstream: UpstreamRelease): readonly string[] {
  return upstream === '2.1.0' ? languages : Object.keys(CONFIGS_4_0_1)
}

const defaultVoices: Readonly<Record<string, string>> = {
  italian: 'giovanni',
  spanish: 'lola',
  german: 'juergen',
  portuguese: 'rafael',
  french: 'estelle',
  dutch: 'daan',
}

/**
 * A release's config by name; a name the release does not ship is a usage error listing the ones it does.
 * `english` is the release's own `english` (4.0.1: the english_2026-10 weights).
 */
export function releaseConfig(upstream: UpstreamRelease, config: string): ReleaseConfig {
  if (upstream === '2.1.0' && isLanguage(config)) {
    const entry = languageEntry(config)
    return {
      upstream,
      config,
      folder: config,
      weights: entry.weights,
      weightsWithoutCloning: entry.weightsWithoutCloning,
      tokenizer: entry.tokenizer,
      tokenizerFile: 'tokenizer.model',
      defaultVoice: entry.defaultVoice,
      voices: predefinedVoices,
      voiceFile: (voice) => voiceFile({language: config, voice: voice as (typeof predefinedVoices)[number]}),
      architecture: entry.architecture,
    }
  }
  if (upstream === '4.0.1' && isConfig4(config)) {
    const entry = CONFIGS_4_0_1[config]
    return {
      upstream,
      config,
      folder: `${upstream}/${config}`,
      weights: entry.weights,
      weightsWithoutCloning: entry.weightsWithoutCloning,
      tokenizer: entry.tokenizer,
      tokenizerFile: entry.tokenizerKind === 'tokenizers' ? 'tokenizer.json' : 'tokenizer.model',
      defaultVoice: defaultVoices[config.split('_')[0] ?? config] ?? 'alba',
      voices: predefinedVoices4,
      voiceFile: (voice) => voiceFile4({config, voice}),
      architecture: architecture4(config),
    }
  }
  const names = releaseConfigNames(upstream)
  throw new UsageError({
    code: 'CONFIG_UNKNOWN',
    message: `pocket-tts ${upstream} has no config "${config}".`,
    hint: `Pass --language with one of: ${names.join(', ')}${upstream === '2.1.0' ? '' : ' (or --upstream 2.1.0 for its configs)'}.`,
    details: {upstream, config, configs: [...names]},
  })
}

function architecture4(config: string): ConfigTemplate {
  const architecture = ARCHITECTURES_4_0_1[config]
  // test/hub/catalogue.test.ts keeps the catalogue and the generated architectures in step
  if (architecture === undefined) throw new Error(`contracts/architectures-4.0.1.json has no config "${config}"`)
  return architecture
}
