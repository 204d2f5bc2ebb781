import {readFileSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {packageRoot} from '../config/project-paths.js'

/** A label and its value, in display order. */
export type Fact = readonly [string, string]

/** This package's version (package.json). */
export function pocketttsVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {version?: unknown}
    return typeof pkg.version === 'string' ? pkg.version : 'unknown'
  } catch {
    return 'unknown'
  }
}

/**
 * What the report says of the exported model: its manifest's format, generation and dimensions, the upstream
 * checkpoint it was exported from, the exporter's versions and its own export-time check. Fields an older
 * manifest lacks are left out; an unreadable manifest is said to be so (the report is written anyway).
 */
export async function modelFacts(dir: string | null): Promise<Fact[]> {
  if (dir === null) return [['model', 'none (two dumps compared, --against)']]
  const facts: Fact[] = [['folder', dir]]
  let manifest: Record<string, unknown>
  try {
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>
  } catch (error) {
    facts.push(['manifest.json', `unreadable: ${(error as Error).message}`])
    return facts
  }
  const obj = (v: unknown): Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {}
  const str = (v: unknown): string | undefined =>
    typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined
  const add = (label: string, value: string | undefined): void => {
    if (value !== undefined && value !== '') facts.push([label, value])
  }
  const model = obj(manifest['model'])
  add('format', str(manifest['format']))
  add('generation', str(manifest['generation']))
  add('sample rate', str(model['sample_rate']) === undefined ? undefined : `${str(model['sample_rate'])} Hz`)
  add(
    'frame rate',
    str(model['frame_rate']) === undefined
      ? undefined
      : `${str(model['frame_rate'])} Hz (frame ${str(model['frame_size']) ?? '?'} samples)`,
  )
  const dims = ['d_model', 'num_layers', 'num_heads', 'latent_dim', 'vocab_size']
    .filter((k) => str(model[k]) !== undefined)
    .map((k) => `${k} ${str(model[k])}`)
  add('dimensions', dims.join(', '))
  const source = obj(manifest['source'])
  const file = (v: unknown): string | undefined => {
    const f = obj(v)
    const name = str(f['name'])
    const sha = str(f['sha256'])
    return name === undefined ? undefined : `${name}${sha === undefined ? '' : ` (sha256 ${sha.slice(0, 16)}…)`}`
  }
  add('exported from', str(source['folder']))
  add('checkpoint', file(source['checkpoint']))
  add('config', file(source['config']))
  add('tokenizer', file(source['tokenizer']))
  const exporter = obj(manifest['exporter'])
  add(
    'exporter',
    Object.entries(exporter)
      .filter(([, v]) => str(v) !== undefined)
      .map(([k, v]) => (k === 'name' ? str(v) : `${k} ${str(v)}`))
      .join(', '),
  )
  const graphs = obj(manifest['graphs'])
  add(
    'graphs',
    Object.entries(graphs)
      .map(([name, g]) => {
        const rewrites = obj(g)['rewrites']
        return Array.isArray(rewrites) && rewrites.length > 0 ? `${name} (${rewrites.join(', ')})` : name
      })
      .join(', '),
  )
  const checks = obj(manifest['checks'])
  if (typeof checks['passed'] === 'boolean') add('export-time check', checks['passed'] ? 'passed' : 'FAILED')
  return facts
}
