import type {RedisOptions} from 'ioredis'
import {UsageError} from '../../errors/index.js'

/** A checked `--queue` URL: the Redis connection options it names and a form safe to print. */
export interface QueueUrl {
  /** The URL without its password, for messages and reports. */
  readonly display: string
  readonly host: string
  readonly port: number
  readonly redis: RedisOptions
}

const EXAMPLE = 'redis://HOST:PORT (or redis://:PASSWORD@HOST:PORT/DB, rediss:// for TLS)'

/** Parses `redis://[USER[:PASSWORD]@]HOST[:PORT][/DB]` (or `rediss://` for TLS); anything else is BATCH_QUEUE_URL_INVALID. */
export function parseQueueUrl(text: string): QueueUrl {
  const invalid = (why: string): UsageError =>
    new UsageError({
      code: 'BATCH_QUEUE_URL_INVALID',
      message: `--queue ${JSON.stringify(redact(text))} is not a Redis URL: ${why}.`,
      hint: `Pass ${EXAMPLE}.`,
      details: {queue: redact(text)},
    })
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw invalid('it does not parse as a URL')
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw invalid(`the scheme is "${url.protocol}", expected "redis:" or "rediss:"`)
  if (url.hostname === '') throw invalid('it names no host')
  const port = url.port === '' ? 6379 : Number(url.port)
  const dbText = url.pathname.replace(/^\//, '')
  if (dbText !== '' && !/^\d{1,5}$/.test(dbText)) throw invalid(`the path "/${dbText}" is not a database number`)
  if (url.search !== '' || url.hash !== '') throw invalid('it has a query or fragment (not understood)')
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const redis: RedisOptions = {
    host,
    port,
    ...(url.username === '' ? {} : {username: decodeURIComponent(url.username)}),
    ...(url.password === '' ? {} : {password: decodeURIComponent(url.password)}),
    ...(dbText === '' ? {} : {db: Number(dbText)}),
    ...(url.protocol === 'rediss:' ? {tls: {}} : {}),
  }
  return {display: redact(text), host, port, redis}
}

function redact(text: string): string {
  try {
    const url = new URL(text)
    if (url.password !== '') url.password = '***'
    return url.toString()
  } catch {
    return text.replace(/:[^:@/]*@/, ':***@')
  }
}
