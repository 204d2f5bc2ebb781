import {execa, type ResultPromise} from 'execa'
import {mkdtemp, rm} from 'node:fs/promises'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {isCI} from './oracle.js'

/** True when a `redis-server` binary is on PATH (Debian package redis-server; scripts/setup-system.sh installs it). */
export const hasRedisServer = await execa('redis-server', ['--version'], {reject: false}).then(
  (r) => r.exitCode === 0,
  () => false,
)

/** Tests that start a real Redis carry this in their name; they are skipped without one only outside CI. */
export const NEEDS_REDIS = '[needs redis-server]'
export const skipWithoutRedis = !hasRedisServer && !isCI

export interface RedisServer {
  readonly url: string
  readonly port: number
  stop(): Promise<void>
}

/** A free TCP port on 127.0.0.1 (the OS picks it). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Starts a private redis-server on 127.0.0.1 (free port, its own temp folder, nothing persisted) and waits until it is ready. */
export async function startRedisServer(): Promise<RedisServer> {
  if (!hasRedisServer)
    throw new Error('redis-server is not installed (apt-get install redis-server, or bash scripts/setup-system.sh); these tests need it.')
  const dir = await mkdtemp(join(tmpdir(), 'pockettts-redis-'))
  const port = await freePort()
  const child: ResultPromise = execa(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    {reject: false, stdin: 'ignore', buffer: false},
  )
  await new Promise<void>((resolve, reject) => {
    let seen = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8')
      if (seen.includes('Ready to accept connections')) resolve()
    })
    void child.then((r) => reject(new Error(`redis-server exited (${String(r.exitCode)}) before it was ready:\n${seen}`)))
  })
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      child.kill('SIGTERM')
      await child
      await rm(dir, {recursive: true, force: true})
    },
  }
}
