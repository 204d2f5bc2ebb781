import {architectures, type UpstreamArchitecture} from './architectures.js'

/**
 * What upstream pocket_tts downloads from the Hugging Face hub, per language (config name): repos, paths, pinned
 * revisions and predefined voices, for 2.1.0 (`languages`, `languageEntry`) and for 4.0.1 (`CONFIGS_4_0_1`), read
 * from each release's `config/*.yaml`, `utils/utils.py` and `default_parameters.py`; `test/hub/catalogue.test.ts`
 * checks this file against both installed packages.
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

/** One config of a newer release: its weights (with and without voice cloning) and its tokenizer file. */
export interface ReleaseConfigEntry {
  readonly weights: HubFileRef
  readonly weightsWithoutCloning: HubFileRef
  /** `tokenizer.model` (SentencePiece) or `tokenizer.json` (HF tokenizers). */
  readonly tokenizer: HubFileRef
  readonly tokenizerKind: 'sentencepiece' | 'tokenizers'
}

/** Upstream 4.0.1's pins (full commit ids), named by their first 7 hex digits. */
const R_00eac05 = '00eac05ed3d16bdc3f6b5d598874019c34a89214'
const R_08ffc58 = '08ffc58775e62aad9409511b9591c9af626270f3'
const R_19f95fe = '19f95fe2df36e79fbd9f10008595cc4c977a0fcc'
const R_1e08e6a = '1e08e6a23401048648a9fdcfde2f89348215c2a7'
const R_2dd944b = '2dd944b099d06bb9edbd221fef138685711d9bf0'
const R_39592ff = '39592ff23c9ef80098bb74895d104c26275fe2c9'
const R_3e82814 = '3e82814a68665eec246ff649b14c71331f955c06'
const R_4925226 = '492522650173a0653b7575cdc25ae09810e5d741'
const R_4e1e0a3 = '4e1e0a3e611c51c0b4ed8174fc10f32a54644303'
const R_575d143 = '575d14372df89a4534bcb989870a34e77544b09f'
const R_75cfe24 = '75cfe24e3142233bb81887fed3482e9652bb4a6e'
const R_7f364c0 = '7f364c05d1be3faf2b234cdbe4cbb68a026d4218'
const R_8843db7 = '8843db76457a91db32077edf8dfcd1c0e3e755fd'
const R_983151f = '983151f13aaeab1b13c1e5e3c2c383d49a9edf3f'
const R_a5ce31f = 'a5ce31f3eba7a3b0cb9c24ba2015b098f278eaae'
const R_a7056f5 = 'a7056f505a4a8ca72d8b5fb1440071d6f1a35739'
const R_d29db79 = 'd29db7978e464fb90cb3359ee0c69a273b9142cc'
const R_db04f0e = 'db04f0e653473e5c7333c69686ac92b7460b0c1d'
const R_e7205b6 = 'e7205b6ee50e654a5ea19f0e9df2b0813b05e921'
const R_e81d79e = 'e81d79e8194ad4c7ce879c87a4258ef20cbf2487'

/**
 * Every config upstream pocket_tts 4.0.1 ships (`pocket_tts/config/*.yaml`): weights with and without voice cloning and
 * the tokenizer, as its configs pin them. `english` is 4.0.1's default (the `english_2026-10` model).
 * test/hub/catalogue.test.ts checks this table against the installed 4.0.1 package.
 */
export const CONFIGS_4_0_1 = {
  dutch: {
    weights: {repo: GATED_REPO, path: 'languages/dutch/model.safetensors', revision: R_3e82814},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/dutch/model.safetensors', revision: R_1e08e6a},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/dutch/tokenizer.json', revision: R_4e1e0a3},
    tokenizerKind: 'tokenizers',
  },
  dutch_24l: {
    weights: {repo: GATED_REPO, path: 'languages/dutch_24l/model.safetensors', revision: R_2dd944b},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/dutch_24l/model.safetensors', revision: R_4e1e0a3},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/dutch_24l/tokenizer.json', revision: R_4e1e0a3},
    tokenizerKind: 'tokenizers',
  },
  english: {
    weights: {repo: GATED_REPO, path: 'languages/english/model.safetensors', revision: R_db04f0e},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/english/model.safetensors', revision: R_a7056f5},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/english/tokenizer.json', revision: R_00eac05},
    tokenizerKind: 'tokenizers',
  },
  'english_18m_2026-10': {
    weights: {repo: GATED_REPO, path: 'languages/english_18m_2026-10/model.safetensors', revision: R_db04f0e},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/english_18m_2026-10/model.safetensors', revision: R_a7056f5},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/english_18m_2026-10/tokenizer.model', revision: R_08ffc58},
    tokenizerKind: 'sentencepiece',
  },
  'english_18m_refl_2026-10': {
    weights: {repo: GATED_REPO, path: 'languages/english_18m_refl_2026-10/model.safetensors', revision: R_db04f0e},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/english_18m_refl_2026-10/model.safetensors', revision: R_a7056f5},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/english_18m_refl_2026-10/tokenizer.model', revision: R_08ffc58},
    tokenizerKind: 'sentencepiece',
  },
  'english_2026-01': {
    weights: {repo: GATED_REPO, path: 'languages/english_2026-01/model.safetensors', revision: R_39592ff},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/english_2026-01/model.safetensors', revision: R_d29db79},
    tokenizer: {repo: UNGATED_REPO, path: 'tokenizer.json', revision: R_00eac05},
    tokenizerKind: 'tokenizers',
  },
  'english_2026-04': {
    weights: {repo: GATED_REPO, path: 'languages/english_2026-04/model.safetensors', revision: R_19f95fe},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/english_2026-04/model.safetensors', revision: R_d29db79},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/english_2026-04/tokenizer.json', revision: R_00eac05},
    tokenizerKind: 'tokenizers',
  },
  'english_2026-04_24l': {
    weights: {repo: GATED_REPO, path: 'languages/english_2026-04_24l/model.safetensors', revision: R_4925226},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/english_2026-04_24l/model.safetensors', revision: R_e81d79e},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/english_2026-04_24l/tokenizer.json', revision: R_00eac05},
    tokenizerKind: 'tokenizers',
  },
  'english_2026-09': {
    weights: {repo: GATED_REPO, path: 'languages/english_2026-09/model.safetensors', revision: R_983151f},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/english_2026-09/model.safetensors', revision: R_e7205b6},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/english_2026-09/tokenizer.json', revision: R_00eac05},
    tokenizerKind: 'tokenizers',
  },
  'english_2026-09_2': {
    weights: {repo: GATED_REPO, path: 'languages/english_2026-09_2/model.safetensors', revision: R_7f364c0},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/english_2026-09_2/model.safetensors', revision: R_575d143},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/english_2026-09/tokenizer.json', revision: R_00eac05},
    tokenizerKind: 'tokenizers',
  },
  'english_2026-09_24l': {
    weights: {repo: GATED_REPO, path: 'languages/english_2026-09_24l/model.safetensors', revision: R_983151f},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/english_2026-09_24l/model.safetensors', revision: R_e7205b6},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/english_2026-09_24l/tokenizer.json', revision: R_00eac05},
    tokenizerKind: 'tokenizers',
  },
  'english_2026-10': {
    weights: {repo: GATED_REPO, path: 'languages/english_2026-10/model.safetensors', revision: R_db04f0e},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/english_2026-10/model.safetensors', revision: R_a7056f5},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/english_2026-09/tokenizer.json', revision: R_00eac05},
    tokenizerKind: 'tokenizers',
  },
  'english_2m_2026-10': {
    weights: {repo: GATED_REPO, path: 'languages/english_2m_2026-10/model.safetensors', revision: R_db04f0e},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/english_2m_2026-10/model.safetensors', revision: R_a7056f5},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/english_2m_2026-10/tokenizer.model', revision: R_08ffc58},
    tokenizerKind: 'sentencepiece',
  },
  'english_2m_refl_2026-10': {
    weights: {repo: GATED_REPO, path: 'languages/english_2m_refl_2026-10/model.safetensors', revision: R_db04f0e},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/english_2m_refl_2026-10/model.safetensors', revision: R_a7056f5},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/english_2m_refl_2026-10/tokenizer.model', revision: R_08ffc58},
    tokenizerKind: 'sentencepiece',
  },
  'english_7m_2026-10': {
    weights: {repo: GATED_REPO, path: 'languages/english_7m_2026-10/model.safetensors', revision: R_db04f0e},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/english_7m_2026-10/model.safetensors', revision: R_a7056f5},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/english_7m_2026-10/tokenizer.model', revision: R_08ffc58},
    tokenizerKind: 'sentencepiece',
  },
  'english_7m_refl_2026-10': {
    weights: {repo: GATED_REPO, path: 'languages/english_7m_refl_2026-10/model.safetensors', revision: R_db04f0e},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/english_7m_refl_2026-10/model.safetensors', revision: R_a7056f5},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/english_7m_refl_2026-10/tokenizer.model', revision: R_08ffc58},
    tokenizerKind: 'sentencepiece',
  },
  'english_drifting_26-09': {
    weights: {repo: GATED_REPO, path: 'languages/english_drifting_26-09/model.safetensors', revision: R_75cfe24},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/english_drifting_26-09/model.safetensors', revision: R_a5ce31f},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/english_2026-09/tokenizer.json', revision: R_00eac05},
    tokenizerKind: 'tokenizers',
  },
  french: {
    weights: {repo: GATED_REPO, path: 'languages/french/model.safetensors', revision: R_3e82814},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/french/model.safetensors', revision: R_1e08e6a},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/french/tokenizer.json', revision: R_8843db7},
    tokenizerKind: 'tokenizers',
  },
  french_24l: {
    weights: {repo: GATED_REPO, path: 'languages/french_24l/model.safetensors', revision: R_3e82814},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/french_24l/model.safetensors', revision: R_1e08e6a},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/french_24l/tokenizer.json', revision: R_8843db7},
    tokenizerKind: 'tokenizers',
  },
  german: {
    weights: {repo: GATED_REPO, path: 'languages/german/model.safetensors', revision: R_3e82814},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/german/model.safetensors', revision: R_1e08e6a},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/german/tokenizer.json', revision: R_4e1e0a3},
    tokenizerKind: 'tokenizers',
  },
  german_24l: {
    weights: {repo: GATED_REPO, path: 'languages/german_24l/model.safetensors', revision: R_2dd944b},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/german_24l/model.safetensors', revision: R_4e1e0a3},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/german_24l/tokenizer.json', revision: R_4e1e0a3},
    tokenizerKind: 'tokenizers',
  },
  italian: {
    weights: {repo: GATED_REPO, path: 'languages/italian/model.safetensors', revision: R_3e82814},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/italian/model.safetensors', revision: R_1e08e6a},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/italian/tokenizer.json', revision: R_4e1e0a3},
    tokenizerKind: 'tokenizers',
  },
  italian_24l: {
    weights: {repo: GATED_REPO, path: 'languages/italian_24l/model.safetensors', revision: R_3e82814},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/italian_24l/model.safetensors', revision: R_1e08e6a},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/italian_24l/tokenizer.json', revision: R_4e1e0a3},
    tokenizerKind: 'tokenizers',
  },
  portuguese: {
    weights: {repo: GATED_REPO, path: 'languages/portuguese/model.safetensors', revision: R_3e82814},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/portuguese/model.safetensors', revision: R_1e08e6a},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/portuguese/tokenizer.json', revision: R_4e1e0a3},
    tokenizerKind: 'tokenizers',
  },
  portuguese_24l: {
    weights: {repo: GATED_REPO, path: 'languages/portuguese_24l/model.safetensors', revision: R_2dd944b},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/portuguese_24l/model.safetensors', revision: R_4e1e0a3},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/portuguese_24l/tokenizer.json', revision: R_4e1e0a3},
    tokenizerKind: 'tokenizers',
  },
  spanish: {
    weights: {repo: GATED_REPO, path: 'languages/spanish/model.safetensors', revision: R_3e82814},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/spanish/model.safetensors', revision: R_1e08e6a},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/spanish/tokenizer.json', revision: R_4e1e0a3},
    tokenizerKind: 'tokenizers',
  },
  spanish_24l: {
    weights: {repo: GATED_REPO, path: 'languages/spanish_24l/model.safetensors', revision: R_2dd944b},
    weightsWithoutCloning: {repo: UNGATED_REPO, path: 'languages/spanish_24l/model.safetensors', revision: R_4e1e0a3},
    tokenizer: {repo: UNGATED_REPO, path: 'languages/spanish_24l/tokenizer.json', revision: R_4e1e0a3},
    tokenizerKind: 'tokenizers',
  },
} as const satisfies Readonly<Record<string, ReleaseConfigEntry>>
export type Config4 = keyof typeof CONFIGS_4_0_1

/** Upstream 4.0.1's predefined voice states: `languages/<config>/embeddings/<voice>.safetensors` at this pin. */
export const VOICES_REVISION_4_0_1 = 'a7056f505a4a8ca72d8b5fb1440071d6f1a35739'

/** Upstream 4.0.1's predefined voices (2.1.0's and `daan`, the Dutch default). */
export const predefinedVoices4 = [...predefinedVoices, 'daan'] as const

export function isConfig4(value: string): value is Config4 {
  return Object.hasOwn(CONFIGS_4_0_1, value)
}

/** The hub file of a 4.0.1 predefined voice state for a config. */
export function voiceFile4({config, voice}: {readonly config: Config4; readonly voice: string}): HubFileRef {
  return {repo: UNGATED_REPO, path: `languages/${config}/embeddings/${voice}.safetensors`, revision: VOICES_REVISION_4_0_1}
}
