import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {execa, type ResultPromise} from 'execa'
import {describe, expect, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'
import {postTts, readAtLeast} from '../helpers/server.js'

/** The Dockerfile's exec-form ENTRYPOINT + CMD, as JSON arrays (shell form would put /bin/sh in front of node). */
function dockerCommand(): {readonly entrypoint: string[]; readonly cmd: string[]} {
  const text = readFileSync(join(packageRoot(), 'Dockerfile'), 'utf8')
  const instruction = (name: string): string[] => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `))
    if (line === undefined) throw new Error(`the Dockerfile has no ${name}`)
    return JSON.parse(line.slice(name.length + 1)) as string[]
  }
  return {entrypoint: instruction('ENTRYPOINT'), cmd: instruction('CMD')}
}

interface Started {
  readonly child: ResultPromise<{reject: false; stdio: ['ignore', 'pipe', 'pipe']}>
  readonly url: string
  readonly logs: () => Record<string, unknown>[]
}

/** Spawns a server for real and waits for its `ready` log line. */
async function start(file: string, args: readonly string[]): Promise<Started> {
  // forceKillAfterDelay off: execa's kill() would send SIGKILL 5 s after SIGTERM, cutting a drain that takes longer
  const child = execa(file, args, {
    reject: false,
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: packageRoot(),
    timeout: 120_000,
    forceKillAfterDelay: false,
  })
  let stderr = ''
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
      const match = /"event":"ready","url":"([^"]+)"/.exec(stderr)
      if (match !== null) resolve(match[1]!)
    })
    void child.then((r) => reject(new Error(`the server exited (${String(r.exitCode)}) before it was ready:\n${stderr}`)))
  })
  const logs = (): Record<string, unknown>[] =>
    stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
  return {child, url, logs}
}

/** Test-only overrides: a free port on loopback, one thread, no EOS (so a request is still running at SIGTERM). */
function forTest(args: readonly string[]): string[] {
  const out = [...args]
  const set = (flag: string, value: string): void => {
    const at = out.indexOf(flag)
    if (at >= 0) out[at + 1] = value
    else out.push(flag, value)
  }
  set('--host', '127.0.0.1')
  set('--port', '0')
  return [...out, '--threads', '1', '--eos-threshold', '1e9']
}

describe('SIGTERM through the documented entry points (docs/limits-and-deployment.md)', () => {
  it("the Dockerfile's exec-form ENTRYPOINT/CMD runs node itself: SIGTERM drains the in-flight request, then exit 0", async () => {
    const {entrypoint, cmd} = dockerCommand()
    expect(entrypoint[0]).toBe('node')
    expect(entrypoint[1]).toBe('/app/bin/run.js')
    expect(cmd[0]).toBe('serve')
    // The image's /app is this package.
    const server = await start(process.execPath, [join(packageRoot(), 'bin', 'run.js'), ...forTest(cmd)])
    // Never-EOS chunks of this text run to max_gen_len: the request is still generating when SIGTERM arrives.
    const text = Array.from({length: 8}, (_, i) => `Sentence number ${i + 1} must be finished before the server stops.`).join(' ')
    const res = await postTts(server.url, {text, seed: '1'})
    expect(res.status).toBe(200)
    const {reader} = await readAtLeast(res, 44 + 1920 * 2)
    server.child.kill('SIGTERM')
    let rest = 0
    for (;;) {
      const {done, value} = await reader.read()
      if (done) break
      rest += value.length
    }
    expect(rest).toBeGreaterThan(0)
    const result = await server.child
    expect(result.exitCode).toBe(0)
    const events = server.logs().map((l) => l['event'])
    expect(events.indexOf('draining')).toBeGreaterThanOrEqual(0)
    expect(events.indexOf('draining'), 'the drain began while the request was generating').toBeLessThan(events.indexOf('speech'))
    expect(server.logs().find((l) => l['event'] === 'speech')).toMatchObject({outcome: 'completed'})
    expect(server.logs().find((l) => l['event'] === 'stopped')).toMatchObject({drained: true, cancelled: 0})
  })

  it('the package bin run directly (bin/run.js through its shebang, as node_modules/.bin/pockettts) stops on SIGTERM with exit 0', async () => {
    const server = await start(join(packageRoot(), 'bin', 'run.js'), forTest(['serve']))
    expect((await fetch(`${server.url}/health`)).status).toBe(200)
    server.child.kill('SIGTERM')
    const result = await server.child
    expect(result.exitCode).toBe(0)
    expect(server.logs().find((l) => l['event'] === 'stopped')).toMatchObject({drained: true})
  })
})
