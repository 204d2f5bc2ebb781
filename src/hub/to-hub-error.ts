import {HubApiError} from '@huggingface/hub'
import {CancelledError, isPocketTtsError, ModelError, PrerequisiteError, type PocketTtsError} from '../errors/index.js'
import {GATED_REPO, UNGATED_REPO} from './catalogue.js'
import {isTransientError, TransferError} from './is-transient-error.js'

export interface ToHubErrorParams {
  readonly error: unknown
  readonly repo: string
  readonly revision?: string
  readonly path?: string
  readonly endpoint: string
  /** The request was for weights with voice cloning (a gated repo): 401/403 explains the two ways out. */
  readonly gated?: boolean
  readonly hasToken: boolean
}

/** Turns a failed hub request into a typed error with a fix; pockettts errors pass through. */
export function toHubError(params: ToHubErrorParams): PocketTtsError {
  const {error, repo, endpoint} = params
  if (isPocketTtsError(error)) return error
  const what = params.path === undefined ? repo : `${repo}/${params.path}`
  const at = params.revision === undefined ? '' : `@${params.revision}`
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) {
    return new CancelledError({
      code: 'CANCELLED',
      message: 'Download cancelled.',
      hint: 'Run the same command again: finished files are kept and partial ones resume.',
      cause: error,
    })
  }
  const status = error instanceof HubApiError ? error.statusCode : error instanceof TransferError ? error.status : undefined
  if ((status === 401 || status === 403) && (params.gated === true || repo === GATED_REPO)) {
    const why =
      status === 401
        ? params.hasToken
          ? 'the hub did not accept the token'
          : 'no token was given'
        : 'the token is valid but its account has not accepted the model terms'
    return new PrerequisiteError({
      code: 'HUB_GATED',
      message: `${repo} is gated and refused ${params.path ?? 'the download'} (HTTP ${status}: ${why}).`,
      hint:
        `Either accept the terms at ${endpoint}/${repo} and pass a read token (--token or HF_TOKEN), ` +
        `or add --allow-no-cloning to download the ungated weights of ${UNGATED_REPO} (predefined voices only, no voice cloning).`,
      details: {repo, path: params.path, status, tokenGiven: params.hasToken},
      cause: error,
    })
  }
  if (status === 401 || status === 403) {
    return new PrerequisiteError({
      code: 'HUB_UNAUTHORIZED',
      message: `The hub refused ${what}${at} (HTTP ${status}${params.hasToken ? ': the token was not accepted' : ''}).`,
      hint: params.hasToken
        ? 'Check the token (--token or HF_TOKEN): it must be a valid read token of an account with access to the repo.'
        : 'The repo is private or gated: pass a read token with --token or HF_TOKEN.',
      details: {repo, path: params.path, status},
      cause: error,
    })
  }
  if (status === 404) {
    return new ModelError({
      code: 'HUB_NOT_FOUND',
      message: `Not found on the hub: ${what}${at} (${firstSentence(error)}).`,
      hint: 'Check --repo, --revision, --files and --voices; the repo may have moved the file (see the catalogue in src/hub/catalogue.ts).',
      details: {repo, path: params.path, revision: params.revision, status},
      cause: error,
    })
  }
  if (isTransientError(error)) {
    const reason = status === undefined ? networkReason(error) : `HTTP ${status}`
    return new PrerequisiteError({
      code: status === undefined ? 'HUB_UNREACHABLE' : 'HUB_UNAVAILABLE',
      message: `Cannot download ${what} from ${endpoint}: ${reason}.`,
      hint:
        'Check the network and --endpoint, then run again: finished files are kept and partial ones resume. ' +
        'Use --offline to work from the lock file alone.',
      details: {repo, path: params.path, endpoint, ...(status === undefined ? {} : {status})},
      cause: error,
    })
  }
  return new PrerequisiteError({
    code: 'HUB_REQUEST_FAILED',
    message: `The hub request for ${what}${at} failed: ${firstSentence(error)}.`,
    hint: 'Run again with --verbose for details; check --endpoint.',
    details: {repo, path: params.path, ...(status === undefined ? {} : {status})},
    cause: error,
  })
}

function firstSentence(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return (message.split('. URL:')[0] ?? message).trim()
}

function networkReason(error: unknown): string {
  let current: unknown = error
  const parts: string[] = []
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as NodeJS.ErrnoException).code
    parts.push(code ?? current.message)
    current = (current as Error & {cause?: unknown}).cause
  }
  return parts.filter((p, i) => parts.indexOf(p) === i).join(': ') || 'network error'
}
