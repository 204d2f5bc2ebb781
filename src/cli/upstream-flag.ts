import {Flags} from '@oclif/core'
import {UPSTREAM_RELEASES, defaultReleaseFor, releasesFor, type UpstreamCommand} from '../upstream/index.js'

export interface UpstreamFlagOptions {
  /** @default 'Upstream pocket-tts release to drive' */
  readonly what?: string
  /** How the default is chosen. @default the newest pinned release that supports the command */
  readonly defaultText?: string
}

/**
 * `--upstream RELEASE` of a command that drives or imitates upstream pocket-tts: every pinned release is offered
 * (contracts/upstreams.json), so one the command does not support yet is refused by `selectUpstream` with a typed
 * error (UPSTREAM_UNSUPPORTED) rather than by the parser.
 */
export function upstreamFlag(command: UpstreamCommand, options: UpstreamFlagOptions = {}) {
  const supported = releasesFor(command)
  const unsupported = UPSTREAM_RELEASES.filter((release) => !supported.includes(release))
  const byDefault = options.defaultText ?? `${defaultReleaseFor(command)}, the newest pinned release this command supports`
  const notYet = unsupported.length === 0 ? '' : ` ${unsupported.join(', ')}: not supported yet.`
  return Flags.option({
    description: `${options.what ?? 'Upstream pocket-tts release to drive'}: ${supported.join(' or ')} [default: ${byDefault}].${notYet}`,
    options: UPSTREAM_RELEASES,
  })()
}
