import {randomBytes} from 'node:crypto'
import {mkdir, rename, rm, writeFile} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

export interface WriteFileAtomicParams {
  readonly path: string
  readonly data: string | Uint8Array
}

/** Writes a file under a temporary name in the same folder, then renames it into place. */
export async function writeFileAtomic(params: WriteFileAtomicParams): Promise<void> {
  const dir = dirname(params.path)
  await mkdir(dir, {recursive: true})
  const temp = join(dir, `.${basename(params.path)}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    await writeFile(temp, params.data)
    await rename(temp, params.path)
  } catch (error) {
    await rm(temp, {force: true})
    throw error
  }
}
