import {existsSync} from 'node:fs'
import {resolve} from 'node:path'
import {UsageError} from '../errors/index.js'
import {readManifest} from '../model/read-manifest.js'
import type {BatchItem} from './batch-item.js'

export interface CheckVoicesParams {
  readonly items: readonly BatchItem[]
  /** The exported model folder. */
  readonly modelDir: string
  /** Relative voice files are found from here (the corpus file's folder), else from the working folder. */
  readonly baseDir: string
  /** The corpus, for messages. */
  readonly corpus: string
}

/** The voice names an exported model ships (as `resolveVoice` names them). */
export async function modelVoiceNames(modelDir: string): Promise<string[]> {
  const {manifest} = await readManifest({dir: modelDir})
  return manifest.voices
    .filter((v) => v.kind === 'kv_state')
    .map((v) => v.path.replace(/^.*\//, '').replace(/\.safetensors$/, ''))
    .sort()
}

/**
 * Checks every item's voice before any work: a voice name of the model stays a name; anything else must be an
 * existing voice file (relative to the corpus folder, else to the working folder) and becomes its absolute path. An unknown voice is
 * VOICE_NOT_FOUND naming the line; a model without voices needs a voice on every line (VOICE_REQUIRED).
 */
export async function checkVoices(params: CheckVoicesParams): Promise<BatchItem[]> {
  const names = await modelVoiceNames(params.modelDir)
  return params.items.map((item) => {
    if (item.voice === undefined) {
      if (names.length > 0) return item
      throw new UsageError({
        code: 'VOICE_REQUIRED',
        message: `${params.corpus} line ${item.line}: id "${item.id}" names no voice and the model in ${params.modelDir} ships none.`,
        hint: 'Give the line a "voice" (a .safetensors voice state or a .wav prompt), or pass --voice.',
        details: {line: item.line, id: item.id},
      })
    }
    if (names.includes(item.voice)) return item
    const file = [resolve(params.baseDir, item.voice), resolve(item.voice)].find((f) => existsSync(f))
    if (file !== undefined) return {...item, voice: file}
    throw new UsageError({
      code: 'VOICE_NOT_FOUND',
      message: `${params.corpus} line ${item.line}: unknown voice "${item.voice}" (id "${item.id}"): not a voice of the model and not an existing file.`,
      hint:
        names.length > 0
          ? `Use one of: ${names.join(', ')}; or a .safetensors voice state or a .wav prompt (relative to the corpus folder).`
          : 'Use a .safetensors voice state or a .wav prompt (relative to the corpus folder).',
      details: {line: item.line, id: item.id, voice: item.voice, available: names},
    })
  })
}
