import type {RetryInfo, RetryOptions} from './with-retry.js'

/** How library functions reach the hub: every field is injectable (tests use a local hub). */
export interface HubAccess {
  /** Hub base URL. @default https://huggingface.co */
  readonly endpoint: string
  /** A read token (`hf_…`); sent to every hub request when given. */
  readonly accessToken?: string
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch
  readonly signal?: AbortSignal
  readonly retry?: RetryOptions
  readonly onRetry?: (info: RetryInfo & {readonly what: string}) => void
}

export interface ResolveUrlParams {
  readonly endpoint: string
  readonly repo: string
  /** A commit id (or any revision). */
  readonly commit: string
  readonly path: string
}

/** The canonical URL of a file at a commit (what the lock file records). */
export function resolveUrl({endpoint, repo, commit, path}: ResolveUrlParams): string {
  return `${endpoint.replace(/\/+$/, '')}/${repo}/resolve/${commit}/${path.split('/').map(encodeURIComponent).join('/')}`
}
