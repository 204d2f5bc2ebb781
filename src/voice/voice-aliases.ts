import {ConfigError} from '../errors/index.js'

/**
 * OpenAI's voice names mapped onto Pocket TTS's original voices, so an unmodified OpenAI client works with its
 * defaults. A name whose voice the model lacks falls back to the server's default voice; an alias never hides
 * a real voice of the same name.
 */
export const OPENAI_VOICE_ALIASES: Readonly<Record<string, string>> = {
  alloy: 'alba',
  ash: 'jean',
  ballad: 'marius',
  coral: 'eponine',
  echo: 'marius',
  fable: 'jean',
  nova: 'fantine',
  onyx: 'javert',
  sage: 'azelma',
  shimmer: 'cosette',
  verse: 'javert',
}

const NAME = /^[\w.-]{1,64}$/

/**
 * Parses an alias table: text `alloy=alba,echo=marius` (a flag, an environment variable) or a mapping
 * `{alloy: alba}` (a config file). Throws a `ConfigError` (`VOICE_ALIASES_INVALID`) naming the bad entry.
 */
export function parseVoiceAliases(raw: unknown, origin: string): Readonly<Record<string, string>> {
  const entries: Array<[string, unknown]> = []
  if (typeof raw === 'string') {
    for (const part of raw
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '')) {
      const eq = part.indexOf('=')
      if (eq < 0) throw invalid(origin, `"${part}" is not ALIAS=VOICE`)
      entries.push([part.slice(0, eq).trim(), part.slice(eq + 1).trim()])
    }
  } else if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    entries.push(...Object.entries(raw))
  } else {
    throw invalid(origin, `expected ALIAS=VOICE,... or a mapping, got ${JSON.stringify(raw)}`)
  }
  const table: Record<string, string> = {}
  for (const [alias, voice] of entries) {
    if (!NAME.test(alias)) throw invalid(origin, `alias ${JSON.stringify(alias)} is not a name (letters, digits, _ . -)`)
    if (typeof voice !== 'string' || !NAME.test(voice))
      throw invalid(origin, `the voice of ${alias} (${JSON.stringify(voice)}) is not a voice name`)
    table[alias] = voice
  }
  return table
}

export interface ResolveVoiceAliasesParams {
  /** Voice names the server offers. */
  readonly voices: ReadonlySet<string>
  /** The voice used when a request names none (null when the server has no voice). */
  readonly defaultVoice: string | null
  /** Aliases given by the user (flag or config): they override the defaults and must name a real voice. */
  readonly user?: Readonly<Record<string, string>>
  /** @default OPENAI_VOICE_ALIASES */
  readonly defaults?: Readonly<Record<string, string>>
}

/** The effective alias table: defaults (missing voices fall back to the default voice) overridden by the user's. */
export function resolveVoiceAliases(params: ResolveVoiceAliasesParams): Readonly<Record<string, string>> {
  const {voices, defaultVoice} = params
  const table: Record<string, string> = {}
  for (const [alias, voice] of Object.entries(params.defaults ?? OPENAI_VOICE_ALIASES)) {
    if (voices.has(alias)) continue
    const target = voices.has(voice) ? voice : defaultVoice
    if (target !== null) table[alias] = target
  }
  for (const [alias, voice] of Object.entries(params.user ?? {})) {
    if (voices.has(alias)) {
      throw new ConfigError({
        code: 'VOICE_ALIAS_CONFLICT',
        message: `The alias "${alias}" is also the name of a voice.`,
        hint: `Drop the alias ${alias}, or give it another name.`,
      })
    }
    if (!voices.has(voice)) {
      throw new ConfigError({
        code: 'VOICE_ALIAS_UNKNOWN_VOICE',
        message: `The alias ${alias}=${voice} names no voice of this server.`,
        hint: `Use one of: ${[...voices].sort().join(', ') || 'none'}.`,
        details: {alias, voice},
      })
    }
    table[alias] = voice
  }
  return Object.fromEntries(Object.entries(table).sort(([a], [b]) => a.localeCompare(b)))
}

function invalid(origin: string, why: string): ConfigError {
  return new ConfigError({
    code: 'VOICE_ALIASES_INVALID',
    message: `${origin}: ${why}.`,
    hint: 'Write aliases as ALIAS=VOICE pairs separated by commas, e.g. alloy=alba,echo=marius.',
  })
}
