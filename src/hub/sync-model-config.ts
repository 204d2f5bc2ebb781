import {createHash} from 'node:crypto'
import {join} from 'node:path'
import {ModelError} from '../errors/index.js'
import type {UpstreamArchitecture} from './architectures.js'
import type {ConfigTemplate} from './load-config-template.js'
import type {LockedGeneratedFile, LockedHubFile} from './lock-file.js'
import {renderModelConfig} from './render-model-config.js'
import {verifyLocalFile} from './verify-local-file.js'
import {writeFileAtomic} from '../fs/write-file-atomic.js'

export interface SyncModelConfigParams {
  /** The models folder (holding the lock file). */
  readonly out: string
  /** The model folder, relative to `out`. */
  readonly folder: string
  readonly template: UpstreamArchitecture | ConfigTemplate
  /** What the template is, for the lock and the header (`catalogue:english`, `config-from:x.yaml`). */
  readonly from: string
  readonly weights: LockedHubFile
  /** The local tokenizer file name in the folder. */
  readonly tokenizerFile: string
  readonly voiceCloning: boolean | null
  /** The lock's record of the config, if any. */
  readonly locked: LockedGeneratedFile | undefined
  /** Only compare with the lock; never write. */
  readonly checkOnly: boolean
}

export interface SyncModelConfigResult {
  readonly entry: LockedGeneratedFile
  readonly status: 'written' | 'verified'
}

/**
 * Writes the model folder's config.yaml (or checks it): a file that differs from its lock entry was edited
 * and is an error naming it; a file pockettts did not write is never overwritten.
 */
export async function syncModelConfig(params: SyncModelConfigParams): Promise<SyncModelConfigResult> {
  const file = `${params.folder}/config.yaml`
  const path = join(params.out, file)
  const cloning =
    params.voiceCloning === null
      ? 'voice cloning: unknown (custom repo)'
      : params.voiceCloning
        ? 'with voice cloning'
        : 'no voice cloning: predefined voices only'
  const text = renderModelConfig({
    template: params.template,
    weightsFile: 'model.safetensors',
    tokenizerFile: params.tokenizerFile,
    header: [
      'Pocket TTS model config in upstream pocket_tts schema, written by `pockettts model download`.',
      `Weights: ${params.weights.repo}/${params.weights.path} at ${params.weights.commit} (${cloning}).`,
      `Architecture: ${params.from}. Paths are relative to this folder.`,
    ],
  })
  const expected = {size: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex')}
  const entry: LockedGeneratedFile = {file, ...expected, from: params.from, upstream: params.weights.upstream}
  const reference = params.locked ?? entry
  const state = await verifyLocalFile({path, ...reference})
  if (state.state === 'ok' && (params.checkOnly || reference === entry || params.locked?.sha256 === expected.sha256)) {
    return {entry: params.locked ?? entry, status: 'verified'}
  }
  if (state.state === 'mismatch' && params.locked !== undefined) {
    throw new ModelError({
      code: 'LOCK_MISMATCH',
      message: `${file} differs from the lock file (it was edited after download).`,
      hint: `Delete ${path} and run again to write it afresh, or remove its entry from "generated" in the lock file to keep your version.`,
      details: {files: [file]},
    })
  }
  if (state.state === 'mismatch') {
    throw new ModelError({
      code: 'CONFIG_NOT_OURS',
      message: `${path} exists and was not written by pockettts (the lock file has no record of it).`,
      hint: 'Move it away or choose another --out; pockettts does not overwrite files it did not write.',
      details: {files: [file]},
    })
  }
  if (params.checkOnly) {
    throw new ModelError({
      code: 'LOCK_VERIFY_FAILED',
      message: `${file} is missing.`,
      hint: 'Run `pockettts model download` with the same options (without --verify-only) to write it.',
      details: {files: [file]},
    })
  }
  // Missing, or written by an earlier run from another template or other weights: write it.
  await writeFileAtomic({path, data: text})
  return {entry, status: 'written'}
}
