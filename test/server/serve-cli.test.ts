import {spawn, type ChildProcess} from 'node:child_process'
import {once} from 'node:events'
import {createServer as createNetServer} from 'node:net'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'
import {loadEngineModel, type EngineModel} from '../../src/engine/engine-model.js'
import {runCli} from '../helpers/cli.js'
import {NEEDS_ORACLE, skipWithoutOracle} from '../helpers/oracle.js'
import {framesWithoutEos, readAll, readAtLeast, postTts} from '../helpers/server.js'

const FRAME_BYTES = 1920 * 2
const SILENCE_BYTES = 4800 * 2

interface ServeProcess {
  readonly child: ChildProcess
  readonly url: string
  readonly logs: () => Record<string, unknown>[]
  readonly stdout: () => string
  readonly exit: Promise<number | null>
}

/** Starts `pockettts serve --port 0` and waits for its `ready` log line (JSON on stderr). */
async function startServe(args: readonly string[]): Promise<ServeProcess> {
  const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'run.js'), 'serve', '--port', '0', '--threads', '1', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exit = once(child, 'exit').then(([code]) => code as number | null)
  let stderr = ''
  let stdout = ''
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()))
  const ready = new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString()
      const match = /"event":"ready","url":"([^"]+)"/.exec(stderr)
      if (match !== null) resolve(match[1]!)
    })
    void exit.then((code) => reject(new Error(`serve exited (${code}) before it was ready:\n${stderr}`)))
  })
  const url = await ready
  const logs = (): Record<string, unknown>[] =>
    stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
  return {child, url, logs, stdout: () => stdout, exit}
}

describe.skipIf(skipWithoutOracle)(`pockettts serve (the command) ${NEEDS_ORACLE}`, () => {
  let modelDir: string
  let model: EngineModel
  beforeAll(async () => {
    modelDir = inject('oracleOnnx')
    model = await loadEngineModel({dir: modelDir, threads: 1})
  })
  afterAll(async () => model?.release())

  it('drains on SIGTERM: the in-flight request gets all its audio, new connections are refused, exit 0 with a JSON report', async () => {
    const serve = await startServe(['--model', modelDir, '--eos-threshold', '1e9', '--json'])
    const text = 'Please finish this sentence before you stop.'
    const res = await postTts(serve.url, {text, seed: '1'})
    expect(res.status).toBe(200)
    const {head, reader} = await readAtLeast(res, 44 + FRAME_BYTES)
    serve.child.kill('SIGTERM')
    const chunks = [head]
    for (;;) {
      const {done, value} = await reader.read()
      if (done) break
      chunks.push(Buffer.from(value))
    }
    expect(Buffer.concat(chunks).length).toBe(44 + (await framesWithoutEos(model, text)) * FRAME_BYTES + SILENCE_BYTES)
    expect(await serve.exit).toBe(0)
    await expect(fetch(`${serve.url}/health`)).rejects.toThrow()
    expect(JSON.parse(serve.stdout())).toMatchObject({drained: true, cancelled: 0, url: serve.url, model: modelDir, voices: ['voice']})
    expect(serve.logs().map((l) => l['event'])).toEqual(expect.arrayContaining(['ready', 'signal', 'draining', 'stopped']))
  })

  it('cancels in-flight work at --shutdown-timeout and still exits 0', async () => {
    const serve = await startServe(['--model', modelDir, '--eos-threshold', '1e9', '--shutdown-timeout', '0.2', '--json'])
    const long = Array.from({length: 10}, (_, i) => `Sentence ${i} goes on for quite a while longer.`).join(' ')
    const res = await postTts(serve.url, {text: long, seed: '1'})
    expect(res.status).toBe(200)
    serve.child.kill('SIGTERM')
    await expect(readAll(res)).rejects.toThrow()
    expect(await serve.exit).toBe(0)
    expect(JSON.parse(serve.stdout())).toMatchObject({drained: false, cancelled: 1})
  })

  it('refuses bad flags with a usage error before loading anything', async () => {
    for (const args of [
      ['--workers', '0'],
      ['--request-timeout', 'soon'],
      ['--cors', 'ftp://x/y'],
    ]) {
      const run = await runCli(['serve', '--model', modelDir, ...args, '--json'])
      expect(run.exitCode, args.join(' ')).toBe(2)
    }
  })

  it('reports a port in use as LISTEN_FAILED (exit 2)', async () => {
    const blocker = createNetServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as {port: number}).port
    try {
      const run = await runCli(['serve', '--model', modelDir, '--port', String(port), '--threads', '1', '--json'])
      expect(run.exitCode).toBe(2)
      expect(JSON.parse(run.stdout)).toMatchObject({error: {code: 'LISTEN_FAILED'}})
    } finally {
      blocker.close()
    }
  })
})
