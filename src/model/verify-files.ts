import {readdir, stat} from 'node:fs/promises'
import {join, relative, sep} from 'node:path'
import {hashFile} from '../hub/hash-file.js'
import {MANIFEST_FILE, type FileEntry} from './manifest-types.js'

export type FileProblem = 'missing' | 'truncated' | 'size' | 'sha256'

export interface FileVerdict {
  readonly path: string
  /** Undefined when the file is as the manifest says. */
  readonly problem?: FileProblem
  readonly detail?: string
}

export interface VerifyFilesParams {
  readonly dir: string
  readonly files: readonly FileEntry[]
  readonly signal?: AbortSignal
  readonly onFile?: (path: string, index: number, total: number) => void
}

export interface VerifyFilesResult {
  readonly verdicts: ReadonlyMap<string, FileVerdict>
  /** Files in the folder the manifest does not list. */
  readonly unlisted: readonly string[]
}

/** Re-hashes every file the manifest lists (size first, so a truncated file says so). */
export async function verifyFiles(params: VerifyFilesParams): Promise<VerifyFilesResult> {
  const verdicts = new Map<string, FileVerdict>()
  let index = 0
  for (const entry of params.files) {
    params.signal?.throwIfAborted()
    params.onFile?.(entry.path, index, params.files.length)
    index += 1
    verdicts.set(entry.path, await verifyOne(params.dir, entry, params.signal))
  }
  const listed = new Set([MANIFEST_FILE, ...params.files.map((f) => f.path)])
  const unlisted = (await listFiles(params.dir)).filter((p) => !listed.has(p))
  return {verdicts, unlisted}
}

async function verifyOne(dir: string, entry: FileEntry, signal: AbortSignal | undefined): Promise<FileVerdict> {
  const path = join(dir, entry.path)
  let size: number
  try {
    const info = await stat(path)
    if (!info.isFile()) return {path: entry.path, problem: 'missing', detail: `${entry.path} is not a file`}
    size = info.size
  } catch {
    return {path: entry.path, problem: 'missing', detail: `${entry.path} is missing`}
  }
  if (size < entry.size)
    return {path: entry.path, problem: 'truncated', detail: `${entry.path} is truncated (${size} of ${entry.size} bytes)`}
  if (size !== entry.size)
    return {path: entry.path, problem: 'size', detail: `${entry.path} has ${size} bytes, the manifest says ${entry.size}`}
  const {sha256} = await hashFile({path, ...(signal === undefined ? {} : {signal})})
  if (sha256 !== entry.sha256)
    return {
      path: entry.path,
      problem: 'sha256',
      detail: `${entry.path} sha256 ${sha256.slice(0, 12)}…, the manifest says ${entry.sha256.slice(0, 12)}…`,
    }
  return {path: entry.path}
}

async function listFiles(dir: string, root: string = dir): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await listFiles(path, root)))
    else out.push(relative(root, path).split(sep).join('/'))
  }
  return out.sort()
}
