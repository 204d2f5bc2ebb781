import {existsSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

/** The package root (the folder with package.json), found from this module's location (src/ or dist/src/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i += 1) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'scripts'))) return dir
    dir = dirname(dir)
  }
  throw new Error('pockettts package root not found')
}

/** Where the Python tooling package lives. */
export function scriptsDir(): string {
  return join(packageRoot(), 'scripts')
}

/** The project's own virtualenv interpreter. */
export function projectVenvPython(): string {
  return join(packageRoot(), '.venv', 'bin', 'python')
}

/** `../shared/oracle` beside the project, if present. */
export function oracleDir(): string {
  return resolve(packageRoot(), '..', 'shared', 'oracle')
}

/** The embedded fixture model: a small random-weight model in the upstream format (`fixtures/tiny`). */
export function embeddedFixtureDir(): string {
  return join(packageRoot(), 'fixtures', 'tiny')
}

/** The embedded default model for synth: the ONNX export of `fixtures/tiny`, shipped with the package. */
export function embeddedModelDir(): string {
  return join(packageRoot(), 'fixtures', 'tiny-onnx')
}

/** Goldens of the embedded fixture model, one folder per case (`golden/<case>`, format pockettts-golden/1). */
export function goldenDir(): string {
  return join(packageRoot(), 'golden')
}
