import {listFiles} from '@huggingface/hub'
import picomatch from 'picomatch'
import {UsageError} from '../errors/index.js'
import type {HubAccess} from './hub-access.js'
import {toHubError} from './to-hub-error.js'
import {withRetry} from './with-retry.js'

export interface ListRepoFilesParams extends HubAccess {
  readonly repo: string
  /** A commit id, branch or tag. */
  readonly revision: string
  /** Glob patterns (picomatch) over repo paths; every one must match at least one file. */
  readonly globs: readonly string[]
}

/** The repo's files matching the globs, from the recursive tree listing (`GET /api/models/{repo}/tree/{rev}`). */
export async function listRepoFiles(params: ListRepoFilesParams): Promise<string[]> {
  const {repo, revision, endpoint} = params
  let paths: string[]
  try {
    paths = await withRetry({
      ...(params.retry === undefined ? {} : {retry: params.retry}),
      ...(params.signal === undefined ? {} : {signal: params.signal}),
      onRetry: (info) => params.onRetry?.({...info, what: `${repo} file list`}),
      run: async () => {
        const out: string[] = []
        for await (const entry of listFiles({
          repo,
          revision,
          recursive: true,
          hubUrl: endpoint.replace(/\/+$/, ''),
          ...(params.accessToken === undefined ? {} : {accessToken: params.accessToken}),
          ...(params.fetch === undefined ? {} : {fetch: params.fetch}),
        })) {
          if (entry.type === 'file') out.push(entry.path)
        }
        return out
      },
    })
  } catch (error) {
    throw toHubError({error, repo, revision, endpoint, hasToken: params.accessToken !== undefined})
  }
  const unmatched = params.globs.filter((glob) => !paths.some((path) => picomatch(glob, {dot: true})(path)))
  if (unmatched.length > 0) {
    throw new UsageError({
      code: 'FILES_NO_MATCH',
      message: `No file of ${repo}@${revision} matches --files ${unmatched.join(' ')}.`,
      hint: `Globs match repo paths such as ${paths.slice(0, 3).join(', ') || '(the repo is empty)'}; quote them so the shell leaves them alone.`,
      details: {repo, revision, globs: unmatched},
    })
  }
  const matchers = params.globs.map((glob) => picomatch(glob, {dot: true}))
  return paths.filter((path) => matchers.some((m) => m(path))).sort()
}
