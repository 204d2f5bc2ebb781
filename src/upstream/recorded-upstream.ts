import {existsSync, readFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {isUpstreamRelease, type UpstreamRelease} from './upstream-releases.js'

/**
 * The upstream release a folder says made it, when it says so: a fixture's `fixture.json` (`upstream`, else
 * `made_with.pocket_tts`) or an export's `manifest.json` (`exporter.upstream`, else `exporter.pocket_tts`).
 * undefined when the folder records none or one that is not pinned (the command's default then applies).
 */
export function recordedUpstream(dir: string): UpstreamRelease | undefined {
  const folder = resolve(dir)
  const fixture = readJson(join(folder, 'fixture.json'))
  const fromFixture = fixture?.['upstream'] ?? field(fixture?.['made_with'], 'pocket_tts')
  if (typeof fromFixture === 'string' && isUpstreamRelease(fromFixture)) return fromFixture
  const exporter = readJson(join(folder, 'manifest.json'))?.['exporter']
  const fromExport = field(exporter, 'upstream') ?? field(exporter, 'pocket_tts')
  if (typeof fromExport === 'string' && isUpstreamRelease(fromExport)) return fromExport
  return undefined
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined
}

function readJson(path: string): Record<string, unknown> | undefined {
  if (!existsSync(path)) return undefined
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'))
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined // not ours to judge here: the command that reads the folder reports a broken file
  }
}
