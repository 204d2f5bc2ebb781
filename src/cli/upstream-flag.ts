import {Flags} from '@oclif/core'
import {UPSTREAM_RELEASES, defaultReleaseFor, releasesFor, type UpstreamCommand} from '../upstream/index.js'

/**
 * `--upstream RELEASE` of a command that drives or imitates upstream pocket-tts: every pinned release is offered
 * (contracts/upstreams.json), so one the command does not support yet is refused by `selectUpstream` with a typed
 * error rather than by the parser; the default is the newest release that supports the command.
 */
export function upstreamFlag(command: UpstreamCommand, what = 'Upstream pocket-tts release to drive') {
  const supported = releasesFor(command)
  const unsupported = UPSTREAM_RELEASES.filter((release) => !supported.includes(release))
  return Flags.option({
    description: `${what}: ${supported.join(' or ')} [default: ${defaultReleaseFor(command)}, the newest pinned release this command supports${
      unsupported.length === 0 ? '' : `; ${unsupported.join(', ')} not yet`
    }].`,
    options: UPSTREAM_RELEASES,
  })()
}
