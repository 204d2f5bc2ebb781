import {readFile} from 'node:fs/promises'
import {parseSafetensors} from './parse-safetensors.js'
import type {SafetensorsFile} from './safetensors-types.js'

export interface ReadSafetensorsParams {
  readonly path: string
}

/** Reads and parses a whole safetensors file (read errors propagate as Node errors with `code`). */
export async function readSafetensors(params: ReadSafetensorsParams): Promise<SafetensorsFile> {
  return parseSafetensors({bytes: await readFile(params.path), source: params.path})
}
