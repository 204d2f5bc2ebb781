import contract from '../../contracts/upstreams.json' with {type: 'json'}
import {compareVersions, isUpstreamRelease, UPSTREAM_RELEASES} from './upstream-releases.js'

/** A change of upstream numerics a release made since the previous pinned one (contracts/upstreams.json `numericsChanges`). */
export interface NumericsChange {
  readonly release: string
  /** The parity stage and check where its effect first shows. */
  readonly stage: string
  readonly check: string
  readonly change: string
}

export interface FindNumericsChangeParams {
  /** The releases compared (an export's and its goldens'); unknown ones are left out. */
  readonly releases: readonly (string | null)[]
  readonly stage: string
  readonly check: string
}

/**
 * The known numerics change, made by a release after the oldest of `releases` and up to the newest, whose effect
 * first shows at this stage and check; null when none does (a change nobody has recorded yet).
 */
export function findNumericsChange(params: FindNumericsChangeParams): NumericsChange | null {
  const known = params.releases.filter((r): r is string => r !== null && isUpstreamRelease(r)).sort(compareVersions)
  const oldest = known[0]
  const newest = known.at(-1)
  if (oldest === undefined || newest === undefined) return null
  for (const release of UPSTREAM_RELEASES) {
    if (compareVersions(release, oldest) <= 0 || compareVersions(release, newest) > 0) continue
    const changes: readonly {readonly stage: string; readonly check: string; readonly change: string}[] =
      contract.releases[release].numericsChanges
    const found = changes.find((c) => c.stage === params.stage && c.check === params.check)
    if (found !== undefined) return {release, ...found}
  }
  return null
}
