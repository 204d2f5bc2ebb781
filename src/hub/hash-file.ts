import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'

export interface HashFileParams {
  readonly path: string
  /** Read only the first `length` bytes. */
  readonly length?: number
  readonly signal?: AbortSignal
}

export interface FileHash {
  readonly size: number
  readonly sha256: string
}

/** Streams a file through sha256 (no whole-file buffer). */
export async function hashFile(params: HashFileParams): Promise<FileHash> {
  const hash = createHash('sha256')
  let size = 0
  const stream = createReadStream(params.path, {
    ...(params.length === undefined ? {} : {end: params.length - 1}),
    ...(params.signal === undefined ? {} : {signal: params.signal}),
  })
  if (params.length === 0) {
    stream.destroy()
    return {size: 0, sha256: hash.digest('hex')}
  }
  for await (const chunk of stream) {
    hash.update(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  return {size, sha256: hash.digest('hex')}
}
