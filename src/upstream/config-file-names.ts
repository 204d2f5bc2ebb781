import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {parse as parseYaml} from 'yaml'
import {resolveConfinedPaths} from '../fs/confined-path.js'

/** Keys of an upstream `config.yaml` that name files (remote `hf://` or URL values are fetched by name, not opened). */
const FILE_KEYS: ReadonlyArray<readonly string[]> = [
  ['weights_path'],
  ['weights_path_without_voice_cloning'],
  ['flow_lm', 'weights_path'],
  ['mimi', 'weights_path'],
  ['flow_lm', 'lookup_table', 'tokenizer_path'],
]

const REMOTE = /^(hf|https?):\/\//i

/**
 * Refuses (`UNSAFE_PATH`) an upstream model folder whose `config.yaml` names a local file outside the folder
 * (absolute, `..`, or a symlink leading out), before the Python tooling opens anything. A config that does not
 * parse is left to the tooling, which reports it with its own typed error.
 */
export async function assertConfigFilesConfined(folder: string): Promise<void> {
  const configPath = join(folder, 'config.yaml')
  let config: unknown
  try {
    config = parseYaml(await readFile(configPath, 'utf8'))
  } catch {
    return
  }
  const named: Array<{path: unknown; namedBy: string}> = []
  for (const keys of FILE_KEYS) {
    let value: unknown = config
    for (const key of keys) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined
    if (typeof value === 'string' && !REMOTE.test(value)) named.push({path: value, namedBy: `${configPath} ${keys.join('.')}`})
  }
  resolveConfinedPaths(folder, named)
}
