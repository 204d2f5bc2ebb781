import {randomBytes} from 'node:crypto'
import {lstat, mkdir, readdir, rename, rm} from 'node:fs/promises'
import {basename, dirname, join, relative, resolve} from 'node:path'
import {create} from 'tar'
import {ModelError, UsageError} from '../errors/index.js'
import {hashFile} from './hash-file.js'
import {verifyManifest} from './verify-manifest.js'

export interface PackBundleParams {
  /** An exported model folder with its manifest.json. */
  readonly dir: string
  /** The bundle to write (`.tar.gz`). */
  readonly out: string
}

export interface PackBundleResult {
  readonly file: string
  readonly size: number
  /** Pass it to `model download --bundle … --sha256`. */
  readonly sha256: string
  /** The folder name inside the bundle. */
  readonly folder: string
  readonly files: number
  /** Files whose sha256 the manifest lists (all checked before packing). */
  readonly verified: number
}

/**
 * Packs a model folder into a gzipped tar whose entries all sit under the folder's name, after checking the
 * folder against its manifest.json (a folder that does not match is not packed). Symbolic links are refused.
 * The archive is written under a temporary name and renamed when complete.
 */
export async function packBundle(params: PackBundleParams): Promise<PackBundleResult> {
  const dir = resolve(params.dir)
  const out = resolve(params.out)
  const stats = await lstat(dir).catch(() => null)
  if (stats === null || !stats.isDirectory()) {
    throw new UsageError({
      code: 'BUNDLE_SOURCE_NOT_FOUND',
      message: `No folder at ${dir}.`,
      hint: 'Pass the exported model folder to pack.',
    })
  }
  if (out.startsWith(`${dir}/`)) {
    throw new UsageError({
      code: 'BUNDLE_OUT_INSIDE',
      message: `The bundle ${out} would be written inside the folder it packs.`,
      hint: 'Choose --out outside the folder.',
    })
  }
  const files = await listFiles(dir)
  const manifest = await verifyManifest({folder: dir})
  if (!manifest.ok) {
    const bad = manifest.checks.filter((c) => c.status !== 'ok').map((c) => `${c.file} (${c.status})`)
    throw new ModelError({
      code: 'MANIFEST_MISMATCH',
      exitCode: 1,
      message: `${dir} does not match its manifest.json: ${bad.join(', ')}.`,
      hint: 'Export the folder again; a bundle must carry exactly the files its manifest describes.',
      details: {files: bad},
    })
  }
  await mkdir(dirname(out), {recursive: true})
  const temp = join(dirname(out), `.${basename(out)}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    await create({gzip: true, file: temp, cwd: dirname(dir), portable: true}, [basename(dir)])
    await rename(temp, out)
  } catch (error) {
    await rm(temp, {force: true})
    throw error
  }
  const hash = await hashFile({path: out})
  return {file: out, size: hash.size, sha256: hash.sha256, folder: basename(dir), files: files.length, verified: manifest.checks.length}
}

/** Regular files under `dir` (relative paths); a symbolic link or special file is an error. */
async function listFiles(dir: string, root = dir): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await listFiles(path, root)))
    else if (entry.isFile()) out.push(relative(root, path))
    else {
      throw new UsageError({
        code: 'BUNDLE_UNSUPPORTED_ENTRY',
        message: `${path} is ${entry.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}; bundles hold regular files only.`,
        hint: 'Replace it with a copy of the file it stands for, or remove it.',
      })
    }
  }
  return out
}
