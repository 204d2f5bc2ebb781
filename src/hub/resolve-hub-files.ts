import {modelInfo, pathsInfo} from '@huggingface/hub'
import {ModelError} from '../errors/index.js'
import {resolveUrl, type HubAccess} from './hub-access.js'
import {toHubError} from './to-hub-error.js'
import {withRetry} from './with-retry.js'

export interface ResolveHubFilesParams extends HubAccess {
  readonly repo: string
  /** A commit, branch or tag. */
  readonly revision: string
  readonly paths: readonly string[]
}

/** What the hub says a file is at a commit. */
export interface ResolvedHubFile {
  readonly repo: string
  readonly revision: string
  readonly commit: string
  readonly path: string
  readonly size: number
  /** sha256 of the content (the LFS object id); absent for small files kept in git. */
  readonly sha256?: string
  /** Git blob id (sha1 of `blob <size>\0<content>`), used when there is no sha256. */
  readonly gitOid?: string
  /** The resolve URL at the commit. */
  readonly url: string
}

export interface ResolveHubFilesResult {
  readonly commit: string
  readonly files: readonly ResolvedHubFile[]
}

/**
 * Resolves a revision to its commit (`GET /api/models/{repo}/revision/{rev}`) and looks up the size and
 * checksum of each path at that commit (`POST /api/models/{repo}/paths-info/{commit}`). A path the repo
 * does not hold is an error naming it.
 */
export async function resolveHubFiles(params: ResolveHubFilesParams): Promise<ResolveHubFilesResult> {
  const {repo, revision, endpoint} = params
  const common = {
    hubUrl: endpoint.replace(/\/+$/, ''),
    ...(params.accessToken === undefined ? {} : {accessToken: params.accessToken}),
    ...(params.fetch === undefined ? {} : {fetch: params.fetch}),
  }
  const retrying = <T>(what: string, run: () => Promise<T>): Promise<T> =>
    withRetry({
      run,
      ...(params.retry === undefined ? {} : {retry: params.retry}),
      ...(params.signal === undefined ? {} : {signal: params.signal}),
      onRetry: (info) => params.onRetry?.({...info, what}),
    })
  const hasToken = params.accessToken !== undefined
  let commit: string
  try {
    const info = await retrying(`${repo}@${revision}`, () => modelInfo({name: repo, revision, additionalFields: ['sha'], ...common}))
    commit = info.sha
  } catch (error) {
    throw toHubError({error, repo, revision, endpoint, hasToken})
  }
  if (typeof commit !== 'string' || !/^[0-9a-f]{40}$/.test(commit)) {
    throw new ModelError({
      code: 'HUB_BAD_ANSWER',
      message: `The hub did not return a commit id for ${repo}@${revision}.`,
      hint: 'Check --endpoint: it must be a Hugging Face compatible hub.',
      details: {repo, revision},
    })
  }
  if (params.paths.length === 0) return {commit, files: []}
  let infos
  try {
    infos = await retrying(`${repo}@${commit}`, () => pathsInfo({repo, paths: [...params.paths], revision: commit, ...common}))
  } catch (error) {
    throw toHubError({error, repo, revision: commit, endpoint, hasToken})
  }
  const byPath = new Map(infos.filter((i) => i.type === 'file').map((i) => [i.path, i]))
  const missing = params.paths.filter((p) => !byPath.has(p))
  if (missing.length > 0) {
    throw new ModelError({
      code: 'HUB_NOT_FOUND',
      message: `Not found in ${repo}@${revision}${commit === revision ? '' : ` (commit ${commit.slice(0, 7)})`}: ${missing.join(', ')}.`,
      hint: 'Check --repo, --revision, --files and --voices; the repo may not hold these files at this revision.',
      details: {repo, revision, commit, missing},
    })
  }
  const files = params.paths.map((path): ResolvedHubFile => {
    const info = byPath.get(path)!
    const sha256 = info.lfs?.oid
    return {
      repo,
      revision,
      commit,
      path,
      size: info.lfs?.size ?? info.size,
      ...(sha256 !== undefined && /^[0-9a-f]{64}$/.test(sha256) ? {sha256} : {}),
      ...(info.oid === undefined ? {} : {gitOid: info.oid}),
      url: resolveUrl({endpoint, repo, commit, path}),
    }
  })
  return {commit, files}
}
