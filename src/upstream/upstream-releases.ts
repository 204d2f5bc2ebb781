import contract from '../../contracts/upstreams.json' with {type: 'json'}
import {join} from 'node:path'
import {UsageError} from '../errors/index.js'
import {packageRoot} from '../config/project-paths.js'

/** A pinned upstream pocket-tts release (contracts/upstreams.json, the one list of them). */
export type UpstreamRelease = keyof typeof contract.releases

/** A command that drives or imitates upstream; each release lists the ones it supports. */
export type UpstreamCommand =
  'text' | 'fixture make' | 'golden dump' | 'golden dump-voice' | 'export-voice' | 'bench' | 'model export' | 'model download'

export interface UpstreamReleaseInfo {
  readonly release: UpstreamRelease
  /** The virtualenv folder under the project root made for it by scripts/setup-python.sh. */
  readonly venv: string
  /** The venv that also holds the project's Python tooling (ruff, pytest, onnx); the others are layered on it. */
  readonly base: boolean
  /** Its pip pins (`pocket-tts==X` first). */
  readonly pip: readonly string[]
  /** The environment variable that names another interpreter for this release. */
  readonly pythonEnv: string
  readonly commands: readonly UpstreamCommand[]
}

/** torch version every pinned release runs on. */
export const UPSTREAM_TORCH: string = contract.torch

/** The pinned releases, oldest first. */
export const UPSTREAM_RELEASES = Object.keys(contract.releases).sort(compareVersions) as UpstreamRelease[]

export function upstreamRelease(release: UpstreamRelease): UpstreamReleaseInfo {
  const entry = contract.releases[release]
  return {release, ...entry, commands: entry.commands as UpstreamCommand[]}
}

/** The releases a command supports, oldest first. */
export function releasesFor(command: UpstreamCommand): UpstreamRelease[] {
  return UPSTREAM_RELEASES.filter((release) => upstreamRelease(release).commands.includes(command))
}

/** The release whose venv (.venv) also holds the project's Python tooling. */
export function baseRelease(): UpstreamRelease {
  const base = UPSTREAM_RELEASES.find((release) => upstreamRelease(release).base)
  if (base === undefined) throw new Error('contracts/upstreams.json: no base release')
  return base
}

/** A command's default: the release `defaults` names for it (with `defaultsWhy`), else the newest pinned release that supports it. */
export function defaultReleaseFor(command: UpstreamCommand): UpstreamRelease {
  const named = (contract.defaults as Readonly<Record<string, string>>)[command]
  if (named !== undefined && isUpstreamRelease(named)) return named
  const releases = releasesFor(command)
  const newest = releases.at(-1)
  if (newest === undefined) throw new Error(`contracts/upstreams.json: no release supports ${command}`)
  return newest
}

/** True for a release string that contracts/upstreams.json pins. */
export function isUpstreamRelease(value: string): value is UpstreamRelease {
  return Object.hasOwn(contract.releases, value)
}

/**
 * The release a command runs: the one asked for (refused with UPSTREAM_UNSUPPORTED when that command does not
 * support it yet), else the command's default.
 */
export function selectUpstream(command: UpstreamCommand, asked: string | undefined): UpstreamRelease {
  if (asked === undefined) return defaultReleaseFor(command)
  if (!isUpstreamRelease(asked)) {
    throw new UsageError({
      code: 'UPSTREAM_UNKNOWN',
      message: `pocket-tts ${asked} is not a pinned upstream release (pinned: ${UPSTREAM_RELEASES.join(', ')}).`,
      hint: `Pass --upstream ${releasesFor(command).join(' or ')}.`,
    })
  }
  if (!upstreamRelease(asked).commands.includes(command)) {
    throw new UsageError({
      code: 'UPSTREAM_UNSUPPORTED',
      message: `${command} does not support upstream pocket-tts ${asked} yet (it supports ${releasesFor(command).join(', ')}).`,
      hint: `Pass --upstream ${defaultReleaseFor(command)}, or leave --upstream out.`,
      details: {command, upstream: asked, supported: releasesFor(command)},
    })
  }
  return asked
}

/** The interpreter of a release's project venv (it may not exist yet). */
export function releaseVenvPython(release: UpstreamRelease): string {
  return join(packageRoot(), upstreamRelease(release).venv, 'bin', 'python')
}

/** Release strings compared numerically, part by part. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i += 1) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}
