import {checkKnob, describeKnobRange, type KnobName} from '../limits/knob-ranges.js'
import {parseVoiceAliases} from '../voice/voice-aliases.js'

/** One typed setting: where it may come from and how it is parsed. */
interface SettingSpec<T> {
  readonly env: string
  readonly description: string
  readonly default: T
  readonly parse: (raw: unknown, origin: string) => T
}

function str(raw: unknown, origin: string): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw new TypeError(`${origin} must be a non-empty string`)
  return raw
}

function optStr(raw: unknown, origin: string): string | undefined {
  return raw === undefined || raw === null ? undefined : str(raw, origin)
}

/** A numeric setting checked against its knob's range (src/limits/knob-ranges.ts), as the flags are. */
function knob(name: KnobName): (raw: unknown, origin: string) => number {
  return (raw) => {
    const check = checkKnob(name, raw)
    if (!check.ok) throw new TypeError(`expected ${describeKnobRange(name)}`)
    return check.value
  }
}

function optKnob(name: KnobName): (raw: unknown, origin: string) => number | undefined {
  const parse = knob(name)
  return (raw, origin) => (raw === undefined || raw === null ? undefined : parse(raw, origin))
}

/** Every setting pockettts reads from flags, `POCKETTTS_*` variables or a config file. */
export const configSchema = {
  python: {
    env: 'POCKETTTS_PYTHON',
    description: 'Python interpreter for the tooling under scripts/ (upstream pocket_tts).',
    default: undefined as string | undefined,
    parse: optStr,
  },
  modelsDir: {
    env: 'POCKETTTS_MODELS_DIR',
    description: 'Folder where downloaded and exported models go.',
    default: 'models',
    parse: str,
  },
  model: {
    env: 'POCKETTTS_MODEL',
    description: 'Exported model folder used by synth, serve and bench (default: the embedded fixture).',
    default: undefined as string | undefined,
    parse: optStr,
  },
  threads: {
    env: 'POCKETTTS_THREADS',
    description: 'onnxruntime intra-op threads (default: physical cores).',
    default: undefined as number | undefined,
    parse: optKnob('threads'),
  },
  hubEndpoint: {
    env: 'POCKETTTS_HUB_ENDPOINT',
    description: 'Model hub base URL.',
    default: 'https://huggingface.co',
    parse: str,
  },
  pythonTimeout: {
    env: 'POCKETTTS_PYTHON_TIMEOUT',
    description: 'Seconds a Python job may run before it is killed.',
    default: 3600,
    parse: knob('pythonTimeout'),
  },
  voiceAliases: {
    env: 'POCKETTTS_VOICE_ALIASES',
    description:
      'serve: voice aliases ALIAS=VOICE,... (a mapping in a config file), added to and overriding the default OpenAI names (alloy, echo, ...).',
    default: undefined as Readonly<Record<string, string>> | undefined,
    parse: (raw: unknown, origin: string): Readonly<Record<string, string>> | undefined =>
      raw === undefined || raw === null ? undefined : parseVoiceAliases(raw, origin),
  },
} satisfies Record<string, SettingSpec<unknown>>

export type ConfigKey = keyof typeof configSchema
export type PocketTtsConfig = {[K in ConfigKey]: ReturnType<(typeof configSchema)[K]['parse']>}
export type ConfigSource = 'flag' | 'env' | 'file' | 'default'
export const configKeys = Object.keys(configSchema) as ConfigKey[]
