import {randomBytes} from 'node:crypto'
import {rename, rm, writeFile} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

export interface WriteFileAtomicParams {
  readonly path: string
  readonly data: Uint8Array
}

/** Writes to a temporary file beside `path`, then renames it over `path`; nothing is left behind on failure. */
export async function writeFileAtomic(params: WriteFileAtomicParams): Promise<void> {
  const temp = join(dirname(params.path), `.${basename(params.path)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`)
  try {
    await writeFile(temp, params.data)
    await rename(temp, params.path)
  } catch (error) {
    await rm(temp, {force: true})
    throw error
  }
}
