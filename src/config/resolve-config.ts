import {readFile} from 'node:fs/promises'
import {parse as parseYaml} from 'yaml'
import {ConfigError} from '../errors/index.js'
import {configKeys, configSchema, type ConfigKey, type ConfigSource, type PocketTtsConfig} from './config-schema.js'

export interface ResolveConfigParams {
  /** Values given as command-line flags (undefined = not given). */
  readonly flags?: Partial<Record<ConfigKey, unknown>>
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv
  /** Path of a YAML or JSON config file (`--config`, else `POCKETTTS_CONFIG`). */
  readonly configFile?: string
}

export interface ResolvedConfig {
  readonly config: PocketTtsConfig
  /** Where each value came from, for messages and `doctor`. */
  readonly sources: Readonly<Record<ConfigKey, ConfigSource>>
  /** A human name of each value's origin, e.g. `POCKETTTS_PYTHON` or `--python`. */
  readonly origins: Readonly<Record<ConfigKey, string>>
}

/** Resolves the typed config: flags > `POCKETTTS_*` environment > config file > defaults. */
export async function resolveConfig(params: ResolveConfigParams = {}): Promise<ResolvedConfig> {
  const env = params.env ?? process.env
  const configFile = params.configFile ?? env['POCKETTTS_CONFIG']
  const fileValues = configFile === undefined ? {} : await readConfigFile(configFile)
  const config: Record<string, unknown> = {}
  const sources: Record<string, ConfigSource> = {}
  const origins: Record<string, string> = {}
  for (const key of configKeys) {
    const spec = configSchema[key]
    const flagValue = params.flags?.[key]
    let raw: unknown
    let source: ConfigSource
    let origin: string
    if (flagValue !== undefined) {
      ;[raw, source, origin] = [flagValue, 'flag', `--${kebab(key)}`]
    } else if (env[spec.env] !== undefined && env[spec.env] !== '') {
      ;[raw, source, origin] = [env[spec.env], 'env', spec.env]
    } else if (key in fileValues) {
      ;[raw, source, origin] = [fileValues[key], 'file', `${key} in ${configFile ?? ''}`]
    } else {
      ;[raw, source, origin] = [spec.default, 'default', 'the default']
    }
    try {
      config[key] = raw === spec.default && source === 'default' ? raw : spec.parse(raw, origin)
    } catch (error) {
      throw new ConfigError({
        code: 'CONFIG_INVALID_VALUE',
        message: `Invalid setting ${key}: ${(error as Error).message} (got ${JSON.stringify(raw)}).`,
        hint: `Correct ${origin}.`,
        details: {key, source, origin},
        cause: error,
      })
    }
    sources[key] = source
    origins[key] = origin
  }
  return {
    config: config as PocketTtsConfig,
    sources: sources as Record<ConfigKey, ConfigSource>,
    origins: origins as Record<ConfigKey, string>,
  }
}

async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new ConfigError({
      code: 'CONFIG_FILE_UNREADABLE',
      message: `Cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
      hint: 'Pass an existing YAML or JSON file with --config, or unset POCKETTTS_CONFIG.',
      cause: error,
    })
  }
  let parsed: unknown
  try {
    parsed = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text)
  } catch (error) {
    throw new ConfigError({
      code: 'CONFIG_FILE_INVALID',
      message: `Config file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
      hint: 'Fix the syntax of the file.',
      cause: error,
    })
  }
  if (parsed === null || parsed === undefined) return {}
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError({
      code: 'CONFIG_FILE_INVALID',
      message: `Config file ${path} must hold a mapping of settings.`,
      hint: `Write keys such as: ${configKeys.join(', ')}.`,
    })
  }
  for (const key of Object.keys(parsed)) {
    if (!(configKeys as string[]).includes(key)) {
      throw new ConfigError({
        code: 'CONFIG_UNKNOWN_KEY',
        message: `Unknown key "${key}" in config file ${path}.`,
        hint: `Remove it or use one of: ${configKeys.join(', ')}.`,
        details: {key, file: path},
      })
    }
  }
  return parsed as Record<string, unknown>
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}
