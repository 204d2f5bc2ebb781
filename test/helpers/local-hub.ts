/**
 * A local model hub on 127.0.0.1 that speaks the HTTP endpoints `@huggingface/hub` (and pockettts) use:
 *
 * - `GET  /api/models/{repo}/revision/{rev}`        revision → commit (`modelInfo`)
 * - `POST /api/models/{repo}/paths-info/{rev}`      size, git oid and LFS sha256 per path (`pathsInfo`)
 * - `GET  /api/models/{repo}/tree/{rev}[/{dir}]`    tree listing, `?recursive=` (`listFiles`)
 * - `GET|HEAD /{repo}/resolve/{rev}/{path}`         file data with `Range` (`fileDownloadInfo` and transfers),
 *   `ETag`/`X-Linked-Etag`/`X-Linked-Size`/`X-Repo-Commit`, 401/403 for a gated repo, 404 `EntryNotFound`.
 *
 * Faults can be switched on per file: corrupt bytes, a connection cut after N bytes (once), an HTTP status
 * for the next N data requests.
 */
import {createHash} from 'node:crypto'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface LocalHubRepo {
  /** Data requests need an accepted token (401 without a token, 403 with another valid one). */
  readonly gated?: boolean
  readonly acceptedTokens?: readonly string[]
  /** Revision names (branches, tags, commit ids) → commit id. */
  readonly revisions: Readonly<Record<string, string>>
  /** Path → content. Files ending in .md/.txt/.json/.yaml are stored in git (no LFS), others as LFS. */
  readonly files: Readonly<Record<string, Uint8Array>>
}

export interface LocalHubOptions {
  readonly repos: Readonly<Record<string, LocalHubRepo>>
  /** Tokens the hub knows; any other token gets 401 on every request. */
  readonly validTokens?: readonly string[]
}

export interface LocalHubRequest {
  readonly method: string
  readonly path: string
  readonly range: string | undefined
  readonly authorization: string | undefined
}

export interface LocalHubFaults {
  /** `repo/path` keys served with one byte flipped (the listing keeps the true hashes). */
  readonly corrupt: Set<string>
  /** `repo/path` → cut the connection after this many body bytes, once. */
  readonly cutAfter: Map<string, number>
  /** `repo/path` → answer the next `times` data requests with this status. */
  readonly status: Map<string, {status: number; times: number}>
}

export interface LocalHub {
  readonly url: string
  readonly port: number
  readonly requests: LocalHubRequest[]
  readonly faults: LocalHubFaults
  /** Data requests: `resolve` GETs other than the 1-byte probe, optionally only those of a repo path. */
  dataRequests(path?: string): LocalHubRequest[]
  close(): Promise<void>
}

interface StoredFile {
  readonly content: Uint8Array
  readonly sha256: string
  readonly gitOid: string
  readonly lfs: boolean
}

export async function startLocalHub(options: LocalHubOptions): Promise<LocalHub> {
  const repos = new Map(
    Object.entries(options.repos).map(([id, repo]) => [
      id,
      {repo, files: new Map(Object.entries(repo.files).map(([path, content]) => [path, store(path, content)]))},
    ]),
  )
  const requests: LocalHubRequest[] = []
  const faults: LocalHubFaults = {corrupt: new Set(), cutAfter: new Map(), status: new Map()}
  const valid = new Set(options.validTokens ?? [])

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const auth = req.headers.authorization
    requests.push({method: req.method ?? 'GET', path: url.pathname, range: req.headers.range, authorization: auth})
    const token = auth?.startsWith('Bearer ') === true ? auth.slice(7) : undefined
    if (token !== undefined && !valid.has(token)) return json(res, 401, {error: 'Invalid credentials in Authorization header'})
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent)
    if (segments[0] === 'api' && segments[1] === 'models') return api(req, res, segments.slice(2), url)
    const resolveAt = segments.indexOf('resolve')
    if (resolveAt === 2)
      return resolveFile(req, res, `${segments[0]}/${segments[1]}`, segments[3] ?? '', segments.slice(4).join('/'), token)
    return json(res, 404, {error: 'Not found'})
  })

  function lookup(
    res: ServerResponse,
    repoId: string,
    rev: string,
  ): {repo: LocalHubRepo; files: Map<string, StoredFile>; commit: string} | null {
    const entry = repos.get(repoId)
    if (entry === undefined) {
      json(res, 404, {error: 'Repository not found'}, {'X-Error-Code': 'RepoNotFound'})
      return null
    }
    const commit = entry.repo.revisions[rev]
    if (commit === undefined) {
      json(res, 404, {error: `Invalid rev id: ${rev}`}, {'X-Error-Code': 'RevisionNotFound'})
      return null
    }
    return {repo: entry.repo, files: entry.files, commit}
  }

  function api(req: IncomingMessage, res: ServerResponse, rest: string[], url: URL): void {
    // rest: ns, name, kind, rev, ...path
    const [ns, name, kind, rev = '', ...dir] = rest
    const found = lookup(res, `${ns}/${name}`, rev)
    if (found === null) return
    const {repo, files, commit} = found
    if (kind === 'revision') {
      return json(res, 200, {
        _id: `id-${ns}-${name}`,
        id: `${ns}/${name}`,
        sha: commit,
        private: false,
        gated: repo.gated === true ? 'manual' : false,
        downloads: 0,
        likes: 0,
        lastModified: '2026-05-04T00:00:00.000Z',
        siblings: [...files.keys()].map((rfilename) => ({rfilename})),
      })
    }
    if (kind === 'paths-info' && req.method === 'POST') {
      let body = ''
      req.on('data', (chunk: Buffer) => (body += chunk.toString()))
      req.on('end', () => {
        const {paths} = JSON.parse(body) as {paths: string[]}
        const out = paths.flatMap((path) => {
          const file = files.get(path)
          if (file !== undefined) return [treeEntry(path, file)]
          if ([...files.keys()].some((p) => p.startsWith(`${path}/`))) return [{type: 'directory', oid: gitOidOf(path), size: 0, path}]
          return []
        })
        json(res, 200, out)
      })
      return
    }
    if (kind === 'tree') {
      const prefix = dir.length === 0 ? '' : `${dir.join('/')}/`
      const recursive = url.searchParams.get('recursive') === 'true'
      const entries = new Map<string, object>()
      for (const [path, file] of files) {
        if (!path.startsWith(prefix)) continue
        const parts = path.slice(prefix.length).split('/')
        for (let i = 1; i < parts.length; i += 1) {
          if (!recursive && i > 1) break
          const d = prefix + parts.slice(0, i).join('/')
          entries.set(d, {type: 'directory', oid: gitOidOf(d), size: 0, path: d})
        }
        if (recursive || parts.length === 1) entries.set(path, treeEntry(path, file))
      }
      return json(res, 200, [...entries.values()])
    }
    json(res, 404, {error: 'Not found'})
  }

  function resolveFile(
    req: IncomingMessage,
    res: ServerResponse,
    repoId: string,
    rev: string,
    path: string,
    token: string | undefined,
  ): void {
    const found = lookup(res, repoId, rev)
    if (found === null) return
    const {repo, files, commit} = found
    if (repo.gated === true && token === undefined) {
      return json(
        res,
        401,
        {error: `Access to model ${repoId} is restricted. You must have access to it and be authenticated to access it. Please log in.`},
        {'X-Error-Code': 'GatedRepo'},
      )
    }
    if (repo.gated === true && !(repo.acceptedTokens ?? []).includes(token ?? '')) {
      return json(
        res,
        403,
        {
          error: `Access to model ${repoId} is restricted and you are not in the authorized list. Visit https://huggingface.co/${repoId} to ask for access.`,
        },
        {'X-Error-Code': 'GatedRepo'},
      )
    }
    const file = files.get(path)
    if (file === undefined) return json(res, 404, {error: 'Entry not found'}, {'X-Error-Code': 'EntryNotFound'})
    const key = `${repoId}/${path}`
    const size = file.content.length
    const range = parseRange(req.headers.range, size)
    const isProbe = range !== null && range !== 'invalid' && range.end === 0 && range.start === 0
    const statusFault = faults.status.get(key)
    if (!isProbe && statusFault !== undefined && statusFault.times > 0 && req.method === 'GET') {
      statusFault.times -= 1
      return json(res, statusFault.status, {error: `injected HTTP ${statusFault.status}`})
    }
    const etag = `"${file.lfs ? file.sha256 : file.gitOid}"`
    const headers: Record<string, string> = {
      'Accept-Ranges': 'bytes',
      'Content-Type': 'application/octet-stream',
      ETag: etag,
      'X-Repo-Commit': commit,
      ...(file.lfs ? {'X-Linked-Etag': etag, 'X-Linked-Size': String(size)} : {}),
    }
    if (range === 'invalid') {
      res.writeHead(416, {...headers, 'Content-Range': `bytes */${size}`})
      return void res.end()
    }
    let body = faults.corrupt.has(key) ? corrupted(file.content) : file.content
    let status = 200
    if (range !== null) {
      body = body.subarray(range.start, range.end + 1)
      headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`
      status = 206
    }
    headers['Content-Length'] = String(body.length)
    res.writeHead(status, headers)
    if (req.method === 'HEAD') return void res.end()
    const cut = faults.cutAfter.get(key)
    if (cut !== undefined && !isProbe && body.length > cut) {
      faults.cutAfter.delete(key)
      res.write(body.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20))
      return
    }
    res.end(body)
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    faults,
    dataRequests: (path) =>
      requests.filter(
        (r) =>
          r.method === 'GET' &&
          r.path.includes('/resolve/') &&
          r.range !== 'bytes=0-0' &&
          (path === undefined || r.path.endsWith(`/${path}`)),
      ),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function store(path: string, content: Uint8Array): StoredFile {
  const lfs = !/\.(md|txt|json|yaml|yml)$/.test(path)
  return {content, lfs, sha256: createHash('sha256').update(content).digest('hex'), gitOid: gitOidOf(content)}
}

function gitOidOf(content: Uint8Array | string): string {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex')
}

function treeEntry(path: string, file: StoredFile): object {
  return {
    type: 'file',
    path,
    size: file.lfs ? 134 : file.content.length,
    oid: file.lfs
      ? gitOidOf(`version https://git-lfs.github.com/spec/v1\noid sha256:${file.sha256}\nsize ${file.content.length}\n`)
      : file.gitOid,
    ...(file.lfs ? {lfs: {oid: file.sha256, size: file.content.length, pointerSize: 134}} : {}),
  }
}

function corrupted(content: Uint8Array): Uint8Array {
  const copy = Buffer.from(content)
  const at = Math.floor(copy.length / 2)
  copy[at] = (copy[at] ?? 0) ^ 0xff
  return copy
}

function parseRange(header: string | undefined, size: number): {start: number; end: number} | 'invalid' | null {
  if (header === undefined) return null
  const match = /^bytes=(\d+)-(\d*)$/.exec(header)
  if (match === null) return 'invalid'
  const start = Number(match[1])
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1)
  if (start >= size || end < start) return 'invalid'
  return {start, end}
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)), ...headers})
  res.end(text)
}
