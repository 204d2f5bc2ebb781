import {readFile, stat} from 'node:fs/promises'
import {join} from 'node:path'
import {ModelError} from '../errors/index.js'
import {resolveConfinedPaths} from '../fs/confined-path.js'
import {hashFile} from './hash-file.js'

export const MANIFEST_NAME = 'manifest.json'

export interface VerifyManifestParams {
  /** The folder holding `manifest.json`. */
  readonly folder: string
  readonly signal?: AbortSignal
}

export interface ManifestFileCheck {
  readonly file: string
  readonly sha256: string
  readonly status: 'ok' | 'missing' | 'mismatch'
}

export interface VerifyManifestResult {
  readonly checks: readonly ManifestFileCheck[]
  /** True when every file the manifest names is present with its sha256. */
  readonly ok: boolean
}

/**
 * Checks a folder against its `manifest.json`: every object in the manifest that has a `file` (or `path`)
 * and a `sha256` names a file of the folder and its hash, wherever it sits (e.g. `graphs.<name>`).
 * A missing manifest is an error; a file name that leaves the folder (`..`, absolute, symlink) is `UNSAFE_PATH`.
 */
export async function verifyManifest(params: VerifyManifestParams): Promise<VerifyManifestResult> {
  const manifestPath = join(params.folder, MANIFEST_NAME)
  let manifest: unknown
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8'))
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT'
    throw new ModelError({
      code: missing ? 'MANIFEST_MISSING' : 'MANIFEST_INVALID',
      message: missing ? `${params.folder} has no ${MANIFEST_NAME}.` : `${manifestPath} is not valid JSON: ${(error as Error).message}`,
      hint: 'Bundles carry an exported model folder with its manifest.json (what `pockettts model export` writes).',
      details: {folder: params.folder},
      cause: error,
    })
  }
  const pairs = new Map<string, string>()
  collectPairs(manifest, pairs)
  const sorted = [...pairs.entries()].sort(([a], [b]) => a.localeCompare(b))
  // Every name is checked before any file is hashed: one unsafe name refuses the whole folder.
  const paths = resolveConfinedPaths(
    params.folder,
    sorted.map(([file]) => ({path: file, namedBy: manifestPath})),
  )
  const checks: ManifestFileCheck[] = []
  for (const [index, [file, sha256]] of sorted.entries()) {
    const actual = await hashIfFile(paths[index]!, params.signal)
    const state = {state: actual === null ? ('missing' as const) : actual === sha256 ? ('ok' as const) : ('mismatch' as const)}
    checks.push({file, sha256, status: state.state})
  }
  return {checks, ok: checks.every((c) => c.status === 'ok')}
}

function collectPairs(value: unknown, out: Map<string, string>): void {
  if (Array.isArray(value)) {
    for (const item of value) collectPairs(item, out)
    return
  }
  if (typeof value !== 'object' || value === null) return
  const record = value as Record<string, unknown>
  const file = typeof record['file'] === 'string' ? record['file'] : typeof record['path'] === 'string' ? record['path'] : undefined
  const sha256 = record['sha256']
  if (file !== undefined && typeof sha256 === 'string' && /^[0-9a-f]{64}$/i.test(sha256)) out.set(file, sha256.toLowerCase())
  for (const child of Object.values(record)) collectPairs(child, out)
}

async function hashIfFile(path: string, signal: AbortSignal | undefined): Promise<string | null> {
  try {
    if (!(await stat(path)).isFile()) return null
  } catch {
    return null
  }
  return (await hashFile({path, ...(signal === undefined ? {} : {signal})})).sha256
}
