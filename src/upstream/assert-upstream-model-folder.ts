import {existsSync, statSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {ModelError} from '../errors/index.js'

export const UPSTREAM_FOLDER_HINT =
  'Pass an upstream-format model folder: config.yaml in upstream pocket_tts schema, the weights and ' +
  'tokenizer it names (`pockettts fixture make` writes one; fixtures/tiny is the embedded one).'

/**
 * A quick check before starting Python: the folder exists and has config.yaml. The Python tooling then checks the
 * config against upstream's schema and loads it strictly, naming any unknown key or missing checkpoint key.
 * @returns the absolute folder path
 */
export function assertUpstreamModelFolder(params: {readonly dir: string}): string {
  const dir = resolve(params.dir)
  if (!existsSync(dir)) {
    throw new ModelError({
      code: 'NOT_A_MODEL_FOLDER',
      message: `The model folder ${dir} does not exist.`,
      hint: UPSTREAM_FOLDER_HINT,
      details: {dir},
    })
  }
  if (!statSync(dir).isDirectory()) {
    throw new ModelError({
      code: 'NOT_A_MODEL_FOLDER',
      message: `${dir} is a file, not a model folder.`,
      hint: UPSTREAM_FOLDER_HINT,
      details: {dir},
    })
  }
  if (!existsSync(join(dir, 'config.yaml'))) {
    throw new ModelError({
      code: 'NOT_A_MODEL_FOLDER',
      message: `${dir} has no config.yaml, so it is not an upstream-format model folder.`,
      hint: UPSTREAM_FOLDER_HINT,
      details: {dir},
    })
  }
  return dir
}
