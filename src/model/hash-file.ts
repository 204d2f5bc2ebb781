import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'

export interface HashFileParams {
  readonly path: string
  readonly signal?: AbortSignal
}

/** The sha256 (hex) of a file, streamed. */
export async function hashFile(params: HashFileParams): Promise<string> {
  const hash = createHash('sha256')
  const stream = createReadStream(params.path, params.signal === undefined ? {} : {signal: params.signal})
  for await (const chunk of stream) hash.update(chunk as Buffer)
  return hash.digest('hex')
}
