import {stringify} from 'yaml'
import type {UpstreamArchitecture} from './architectures.js'
import type {ConfigTemplate} from './load-config-template.js'

export interface RenderModelConfigParams {
  /** The catalogue architecture of the language, or a `--config-from` template. */
  readonly template: UpstreamArchitecture | ConfigTemplate
  /** Checkpoint path relative to the model folder. */
  readonly weightsFile: string
  /** Tokenizer path relative to the model folder. */
  readonly tokenizerFile: string
  /** Comment lines written at the top (no `#`). */
  readonly header: readonly string[]
}

/**
 * The model folder's `config.yaml` in upstream's schema: the template with `weights_path` and
 * `flow_lm.lookup_table.tokenizer_path` naming the local files (relative to the folder), and no remote path
 * left: `weights_path_without_voice_cloning` and per-part `weights_path`s are dropped, since the folder holds
 * one full checkpoint (which one, and whether it can clone voices, is said in the header and the lock file).
 */
export function renderModelConfig(params: RenderModelConfigParams): string {
  const template = params.template as Readonly<Record<string, unknown>>
  const flowLm = {...(template['flow_lm'] as Record<string, unknown>)}
  const lookupTable = {...(flowLm['lookup_table'] as Record<string, unknown>), tokenizer_path: params.tokenizerFile}
  delete flowLm['weights_path']
  flowLm['lookup_table'] = lookupTable
  const mimi = {...(template['mimi'] as Record<string, unknown>)}
  delete mimi['weights_path']
  const config: Record<string, unknown> = {weights_path: params.weightsFile}
  for (const [key, value] of Object.entries(template)) {
    if (key === 'weights_path' || key === 'weights_path_without_voice_cloning') continue
    config[key] = key === 'flow_lm' ? flowLm : key === 'mimi' ? mimi : value
  }
  const header = params.header.map((line) => `# ${line}`.trimEnd()).join('\n')
  return `${header}\n${stringify(config, {lineWidth: 0})}`
}
