import {Redis} from 'ioredis'
import {PrerequisiteError} from '../../errors/index.js'
import type {QueueUrl} from './queue-url.js'

/** BullMQ needs Redis 5 or later. */
const MIN_REDIS_MAJOR = 5

/**
 * Connects once to the queue's Redis, without retrying, and checks that it answers and is recent enough, so a
 * wrong host, port, password or a stopped server is one clear error instead of endless reconnection attempts.
 */
export async function probeQueue(url: QueueUrl, timeoutMs = 5000): Promise<void> {
  const client = new Redis({
    ...url.redis,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  })
  let lastError: Error | undefined
  client.on('error', (error: Error) => {
    lastError = error
  })
  try {
    await client.connect()
    await client.ping()
    const info = await client.info('server')
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '0'
    if (Number(version.split('.')[0]) < MIN_REDIS_MAJOR) {
      throw new PrerequisiteError({
        code: 'BATCH_QUEUE_REDIS_TOO_OLD',
        message: `The Redis server at ${url.display} is version ${version}; the queue (BullMQ) needs ${MIN_REDIS_MAJOR} or later.`,
        hint: 'Upgrade Redis (Debian: apt-get install redis-server) or point --queue at a newer server.',
        details: {queue: url.display, version},
      })
    }
  } catch (error) {
    if (error instanceof PrerequisiteError) throw error
    const reason = lastError?.message ?? (error instanceof Error ? error.message : String(error))
    const auth = /NOAUTH|WRONGPASS|invalid password|invalid username/i.test(reason)
    throw new PrerequisiteError({
      code: auth ? 'BATCH_QUEUE_AUTH_FAILED' : 'BATCH_QUEUE_UNREACHABLE',
      message: auth
        ? `The Redis server at ${url.display} refused the credentials (${reason}).`
        : `Cannot reach the Redis server of the queue at ${url.display} (${reason}).`,
      hint: auth
        ? 'Put the right user and password in the URL: redis://USER:PASSWORD@HOST:PORT.'
        : 'Start Redis there (Debian: apt-get install redis-server), or fix the host and port; ' +
          `\`redis-cli -h ${url.host} -p ${url.port} ping\` must answer PONG.`,
      details: {queue: url.display, reason},
    })
  } finally {
    client.disconnect()
  }
}
