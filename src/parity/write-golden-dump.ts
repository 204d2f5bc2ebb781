import {randomBytes} from 'node:crypto'
import {existsSync} from 'node:fs'
import {copyFile, mkdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {dump} from 'npyjs'
import {UsageError} from '../errors/index.js'
import {GOLDEN_FORMAT} from '../golden/index.js'
import type {MemoryGolden} from './memory-golden.js'

export interface WriteGoldenDumpParams {
  /** The case folder to write (replaced when it already holds a golden case). */
  readonly dir: string
  readonly golden: MemoryGolden
}

/**
 * Writes a case in the `pockettts-golden/1` format (manifest.json + one .npy per tensor + side files) into
 * a temporary folder beside `dir`, then renames it into place: a failure leaves nothing half-written.
 */
export async function writeGoldenDump(params: WriteGoldenDumpParams): Promise<void> {
  const {dir, golden} = params
  if (existsSync(dir) && !(await isGoldenCase(dir))) {
    throw new UsageError({
      code: 'DUMP_TARGET_EXISTS',
      message: `${dir} exists and is not a golden case; --dump replaces only earlier dumps.`,
      hint: 'Pass an empty or new folder to --dump.',
      details: {dir},
    })
  }
  await mkdir(dirname(dir), {recursive: true})
  const suffix = `${process.pid}.${randomBytes(4).toString('hex')}`
  const temp = join(dirname(dir), `.${basename(dir)}.${suffix}.partial`)
  const old = join(dirname(dir), `.${basename(dir)}.${suffix}.old`)
  try {
    await mkdir(temp)
    for (const name of golden.names) {
      const t = await golden.tensor(name)
      const bytes = dump(t.data, [...t.shape])
      await writeFile(join(temp, `${name}.npy`), new Uint8Array(bytes))
    }
    for (const [name, file] of golden.files) {
      if (file.bytes !== undefined) await writeFile(join(temp, name), file.bytes)
      else if (file.source !== undefined) await copyFile(file.source, join(temp, name))
    }
    await writeFile(join(temp, 'manifest.json'), `${JSON.stringify(golden.manifest, null, 1)}\n`)
    if (existsSync(dir)) await rename(dir, old)
    await rename(temp, dir)
    await rm(old, {recursive: true, force: true})
  } catch (error) {
    await rm(temp, {recursive: true, force: true})
    if (existsSync(old) && !existsSync(dir)) await rename(old, dir)
    throw error
  }
}

async function isGoldenCase(dir: string): Promise<boolean> {
  try {
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as {format?: unknown}
    return manifest.format === GOLDEN_FORMAT
  } catch {
    return false
  }
}
