import {stat} from 'node:fs/promises'
import {hashFile} from './hash-file.js'

export interface VerifyLocalFileParams {
  readonly path: string
  readonly size: number
  readonly sha256: string
  readonly signal?: AbortSignal
}

export type LocalFileState =
  {readonly state: 'ok'} | {readonly state: 'missing'} | {readonly state: 'mismatch'; readonly size: number; readonly sha256: string | null}

/** Compares a file on disk with its recorded size and sha256 (hashing only when the size matches). */
export async function verifyLocalFile(params: VerifyLocalFileParams): Promise<LocalFileState> {
  let size: number
  try {
    const s = await stat(params.path)
    if (!s.isFile()) return {state: 'mismatch', size: 0, sha256: null}
    size = s.size
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {state: 'missing'}
    throw error
  }
  if (size !== params.size) return {state: 'mismatch', size, sha256: null}
  const actual = await hashFile({path: params.path, ...(params.signal === undefined ? {} : {signal: params.signal})})
  return actual.sha256 === params.sha256 ? {state: 'ok'} : {state: 'mismatch', size, sha256: actual.sha256}
}
