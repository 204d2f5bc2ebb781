import {architectures, type UpstreamArchitecture} from './architectures.js'

/**
 * What upstream pocket_tts 2.1.0 downloads from the Hugging Face hub, per language: repos, paths, pinned
 * revisions and predefined voices (read from upstream's `config/*.yaml`, `utils/utils.py` and
 * `default_parameters.py`; `test/hub/catalogue.test.ts` checks this file against the installed package).
 */

/** Full weights with voice cloning. Gated: accept the terms on the hub, then authenticate. */
export const GATED_REPO = 'kyutai/pocket-tts'
/** Weights for predefined voices only, the tokenizers and every predefined voice state. Not gated. */
export const UNGATED_REPO = 'kyutai/pocket-tts-without-voice-cloning'

/** Upstream's pins (full commit ids). */
export const REVISIONS = {
  /** Gated weights of every language but english_2026-04. */
  gated: '39592ff23c9ef80098bb74895d104c26275fe2c9',
  /** Gated weights of english_2026-04. */
  gatedEnglish202604: '19f95fe2df36e79fbd9f10008595cc4c977a0fcc',
  /** Ungated weights and tokenizers. */
  ungated: 'd29db7978e464fb90cb3359ee0c69a273b9142cc',
  /** Predefined voice states (`languages/<language>/embeddings/<name>.safetensors`). */
  voices: 'e041936c75475d350b405bc870bcf7c22da4e9e6',
} as const

export const languages = [
  'english',
  'english_2026-01',
  'english_2026-04',
  'french_24l',
  'german',
  'german_24l',
  'italian',
  'italian_24l',
  'portuguese',
  'portuguese_24l',
  'spanish',
  'spanish_24l',
] as const
export type Language = (typeof languages)[number]

/** Upstream's predefined voices; every language has a state for each. */
export const predefinedVoices = [
  'alba',
  'marius',
  'javert',
  'jean',
  'fantine',
  'cosette',
  'eponine',
  'azelma',
  'anna',
  'vera',
  'charles',
  'paul',
  'george',
  'mary',
  'jane',
  'michael',
  'eve',
  'bill_boerst',
  'peter_yearsley',
  'stuart_bell',
  'caro_davy',
  'giovanni',
  'lola',
  'juergen',
  'rafael',
  'estelle',
] as const
export type PredefinedVoice = (typeof predefinedVoices)[number]

/** One file of a hub repo at a revision. */
export interface HubFileRef {
  readonly repo: string
  readonly path: string
  readonly revision: string
}

export interface LanguageEntry {
  readonly language: Language
  /** Weights with voice cloning (gated repo). */
  readonly weights: HubFileRef
  /** The same model without voice cloning (ungated repo). */
  readonly weightsWithoutCloning: HubFileRef
  readonly tokenizer: HubFileRef
  /** Upstream's default voice for the language. */
  readonly defaultVoice: PredefinedVoice
  /** Config without paths. */
  readonly architecture: UpstreamArchitecture
}

const defaultVoices: Partial<Record<string, PredefinedVoice>> = {
  italian: 'giovanni',
  spanish: 'lola',
  german: 'juergen',
  portuguese: 'rafael',
  french: 'estelle',
}

/** The catalogue entry of a language. */
export function languageEntry(language: Language): LanguageEntry {
  const family = language.split('_')[0] ?? language
  return {
    language,
    weights: {
      repo: GATED_REPO,
      path: `languages/${language}/model.safetensors`,
      revision: language === 'english_2026-04' ? REVISIONS.gatedEnglish202604 : REVISIONS.gated,
    },
    weightsWithoutCloning: {repo: UNGATED_REPO, path: `languages/${language}/model.safetensors`, revision: REVISIONS.ungated},
    // english_2026-01 (the v1 generation) uses the repo's top-level tokenizer.
    tokenizer: {
      repo: UNGATED_REPO,
      path: language === 'english_2026-01' ? 'tokenizer.model' : `languages/${language}/tokenizer.model`,
      revision: REVISIONS.ungated,
    },
    defaultVoice: defaultVoices[family] ?? 'alba',
    architecture: architectures[language],
  }
}

export interface VoiceFileParams {
  readonly language: Language
  readonly voice: PredefinedVoice
}

/** The hub file of a predefined voice state for a language. */
export function voiceFile({language, voice}: VoiceFileParams): HubFileRef {
  return {repo: UNGATED_REPO, path: `languages/${language}/embeddings/${voice}.safetensors`, revision: REVISIONS.voices}
}

export function isLanguage(value: string): value is Language {
  return (languages as readonly string[]).includes(value)
}

export function isPredefinedVoice(value: string): value is PredefinedVoice {
  return (predefinedVoices as readonly string[]).includes(value)
}
