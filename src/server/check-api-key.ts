import {createHash, timingSafeEqual} from 'node:crypto'
import type {IncomingHttpHeaders} from 'node:http'

export interface CheckApiKeyParams {
  readonly headers: IncomingHttpHeaders
  readonly apiKey: string
}

/** True when the request carries the key as `Authorization: Bearer KEY` or `X-API-Key: KEY` (constant-time compare). */
export function checkApiKey(params: CheckApiKeyParams): boolean {
  const {headers} = params
  const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '')?.[1]?.trim()
  const header = headers['x-api-key']
  const given = bearer ?? (typeof header === 'string' ? header : undefined)
  if (given === undefined) return false
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest()
  return timingSafeEqual(digest(given), digest(params.apiKey))
}
