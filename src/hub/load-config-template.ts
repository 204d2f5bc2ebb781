import {readFile} from 'node:fs/promises'
import {parse as parseYaml} from 'yaml'
import {ConfigError} from '../errors/index.js'

export interface LoadConfigTemplateParams {
  /** An upstream-schema model config (YAML), e.g. one of upstream's `config/*.yaml` or a test model's. */
  readonly path: string
}

export type ConfigTemplate = Readonly<Record<string, unknown>>

/** Reads an upstream-schema config whose architecture `model download --config-from` writes into the folder. */
export async function loadConfigTemplate(params: LoadConfigTemplateParams): Promise<ConfigTemplate> {
  let text: string
  try {
    text = await readFile(params.path, 'utf8')
  } catch (error) {
    throw new ConfigError({
      code: 'CONFIG_FROM_UNREADABLE',
      message: `Cannot read --config-from ${params.path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
      hint: 'Pass an existing upstream-schema config YAML (the shape of pocket_tts/config/english.yaml).',
      cause: error,
    })
  }
  let data: unknown
  try {
    data = parseYaml(text)
  } catch (error) {
    throw new ConfigError({
      code: 'CONFIG_FROM_INVALID',
      message: `--config-from ${params.path} is not valid YAML: ${(error as Error).message}`,
      hint: 'Fix the YAML syntax.',
      cause: error,
    })
  }
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
  const flowLm = isMap(data) ? data['flow_lm'] : undefined
  if (!isMap(data) || !isMap(flowLm) || !isMap(flowLm['lookup_table']) || !isMap(data['mimi'])) {
    throw new ConfigError({
      code: 'CONFIG_FROM_INVALID',
      message: `--config-from ${params.path} is not an upstream model config (it needs flow_lm.lookup_table and mimi mappings).`,
      hint: 'Pass a config in the schema of pocket_tts/config/*.yaml.',
    })
  }
  return data
}
