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

function optPositiveInt(raw: unknown, origin: string): number | undefined {
  if (raw === undefined || raw === null) return undefined
  const n = typeof raw === 'string' ? Number(raw) : raw
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0) throw new TypeError(`${origin} must be a positive whole number`)
  return n
}

function positiveNumber(raw: unknown, origin: string): number {
  const n = typeof raw === 'string' ? Number(raw) : raw
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) throw new TypeError(`${origin} must be a positive number`)
  return n
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
    parse: optPositiveInt,
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
    parse: positiveNumber,
  },
} satisfies Record<string, SettingSpec<unknown>>

export type ConfigKey = keyof typeof configSchema
export type PocketTtsConfig = {[K in ConfigKey]: ReturnType<(typeof configSchema)[K]['parse']>}
export type ConfigSource = 'flag' | 'env' | 'file' | 'default'
export const configKeys = Object.keys(configSchema) as ConfigKey[]
