import {readFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {UsageError} from '../errors/index.js'
import {isUpstreamRelease, UPSTREAM_RELEASES, type UpstreamRelease} from '../upstream/index.js'
import type {GoldenManifest} from './golden-types.js'

/**
 * The upstream release that recorded a golden: `source.upstream`, else (goldens recorded before it was written)
 * `source.version`. A release that contracts/upstreams.json does not pin is refused.
 */
export function goldenUpstream(manifest: Pick<GoldenManifest, 'source'>, where: string): UpstreamRelease {
  const recorded = manifest.source['upstream'] ?? manifest.source['version']
  if (typeof recorded === 'string' && isUpstreamRelease(recorded)) return recorded
  throw new UsageError({
    code: 'GOLDEN_UPSTREAM_UNKNOWN',
    message: `The golden ${where} was recorded by upstream pocket-tts ${String(recorded)}, which is not a pinned release (${UPSTREAM_RELEASES.join(', ')}).`,
    hint: 'Record it again with `pockettts golden dump --upstream RELEASE`.',
    details: {dir: where, recorded},
  })
}

/** The upstream release of the golden folder `dir` (its manifest.json), for a command that replays it. */
export function goldenFolderUpstream(dir: string): UpstreamRelease {
  const folder = resolve(dir)
  let manifest: Pick<GoldenManifest, 'source'>
  try {
    manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as Pick<GoldenManifest, 'source'>
  } catch (error) {
    throw new UsageError({
      code: 'GOLDEN_NOT_FOUND',
      message: `${folder} has no readable manifest.json.`,
      hint: 'Pass a golden case folder (it holds manifest.json and .npy files).',
      details: {dir: folder},
      cause: error,
    })
  }
  return goldenUpstream({source: manifest.source ?? {}}, folder)
}
