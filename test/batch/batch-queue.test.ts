import {createHash} from 'node:crypto'
import {existsSync, readdirSync} from 'node:fs'
import {cp, mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa, type ResultPromise} from 'execa'
import {Redis} from 'ioredis'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {BatchManifest, DoneEntry, FailedEntry} from '../../src/batch/index.js'
import {packageRoot} from '../../src/config/project-paths.js'
import {runCli} from '../helpers/cli.js'
import {NEEDS_REDIS, skipWithoutRedis, startRedisServer, type RedisServer} from '../helpers/redis-server.js'

interface Report {
  readonly total: number
  readonly made: number
  readonly skipped: number
  readonly failed: number
  readonly jobs: number
  readonly queue?: {readonly url: string; readonly name: string}
  readonly removedPartials: readonly string[]
  readonly items: ReadonlyArray<{readonly id: string; readonly status: string; readonly code?: string}>
}

const jsonl = (lines: readonly unknown[]): string => `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')
const bin = join(packageRoot(), 'bin', 'run.js')
// a worker that dies is taken over after about lock + stalled interval: short here, so the test waits seconds
const LOCK = ['--lock-duration', '5', '--stalled-interval', '1']

async function readManifest(dir: string): Promise<BatchManifest> {
  return JSON.parse(await readFile(join(dir, 'batch-manifest.json'), 'utf8')) as BatchManifest
}

/** A `pockettts worker` process, its stderr kept as it comes. */
interface WorkerProcess {
  readonly child: ResultPromise
  stderr(): string
  /** Resolves with the first match of `pattern` in the stderr (rejects when the worker exits first). */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>
}

const started: ResultPromise[] = []

function startWorker(args: readonly string[]): WorkerProcess {
  const child = execa(process.execPath, [bin, 'worker', ...args], {reject: false, stdin: 'ignore', cwd: packageRoot()})
  started.push(child)
  let text = ''
  const waiters: Array<() => void> = []
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8')
    for (const w of waiters.splice(0)) w()
  })
  const waitFor = async (pattern: RegExp): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const match = pattern.exec(text)
        if (match !== null) resolve(match)
        else if (child.exitCode !== null || child.signalCode !== null)
          reject(new Error(`the worker exited before ${String(pattern)}:\n${text}`))
        else waiters.push(check)
      }
      void child.then(() => setTimeout(check, 10))
      check()
    })
  return {child, stderr: () => text, waitFor}
}

function submit(args: readonly string[]): ResultPromise {
  const child = execa(process.execPath, [bin, 'batch', ...args, '--json'], {reject: false, stdin: 'ignore', cwd: packageRoot()})
  started.push(child)
  return child
}

/** Items long enough (EOS never fires) that a worker is still making one when it is killed. */
function longItems(prefix: string, count: number): Array<{id: string; text: string; eosThreshold: number; seed: number}> {
  const text = 'This sentence is long enough to be generated for a good while before its chunk ends. '.repeat(2).trim()
  return Array.from({length: count}, (_, i) => ({id: `${prefix}-${i}`, text, eosThreshold: 1e9, seed: i}))
}

if (skipWithoutRedis) {
  console.warn(`${NEEDS_REDIS} tests skipped: no redis-server on PATH (bash scripts/setup-system.sh installs it; under CI=true they fail).`)
}

describe.skipIf(skipWithoutRedis)(`pockettts batch --queue / worker on a real Redis ${NEEDS_REDIS}`, () => {
  let work: string
  let redis: RedisServer
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-queue-'))
    redis = await startRedisServer()
  })
  afterAll(async () => {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await Promise.allSettled(started)
    await redis?.stop()
    if (work !== undefined) await rm(work, {recursive: true, force: true})
  })

  it(`two worker processes, one SIGKILLed mid-item: every item is made once, with the bytes of a local run ${NEEDS_REDIS}`, async () => {
    const t0 = performance.now()
    const items = [...longItems('long', 6), {id: '7', text: 'An all-digit id.'}]
    const corpus = join(work, 'kill.jsonl')
    await writeFile(corpus, jsonl(items))
    const local = join(work, 'kill-local')
    const localRun = await runCli(['batch', corpus, '--out', local])
    expect(localRun.exitCode, localRun.stderr).toBe(0)
    const tLocal = performance.now()

    const queueArgs = ['--queue', redis.url, '--queue-name', 'kill']
    const a = startWorker([...queueArgs, ...LOCK])
    const b = startWorker([...queueArgs, ...LOCK])
    await Promise.all([a.waitFor(/waiting for items/), b.waitFor(/waiting for items/)])
    const out = join(work, 'kill-out')
    const submitter = submit([corpus, '--out', out, ...queueArgs])
    // the first item worker A takes: kill it while it makes that item
    const killedId = (await a.waitFor(/making (\S+) \(attempt/))[1] ?? ''
    a.child.kill('SIGKILL')
    await a.child
    const tKill = performance.now()

    const run = await submitter
    const tDone = performance.now()
    expect(run.exitCode, run.stderr).toBe(0)
    const report = JSON.parse(run.stdout) as Report
    expect(report).toMatchObject({
      total: items.length,
      made: items.length,
      skipped: 0,
      failed: 0,
      jobs: 0,
      queue: {url: redis.url, name: 'kill'},
    })
    // the killed worker's item was taken over and made by worker B
    // taken over without using up an attempt (a stall is not a failure)
    expect(b.stderr()).toContain(`making ${killedId} (attempt 1)`)
    expect(a.stderr()).not.toMatch(new RegExp(`${killedId} made`))
    // and the submitter said so
    expect(run.stderr).toContain(`${killedId}: its worker stopped (killed or hung); back in the queue for another worker`)

    // each item once in the report and the manifest
    expect(report.items.map((i) => i.id).sort()).toEqual(items.map((i) => i.id).sort())
    const manifest = await readManifest(out)
    const localManifest = await readManifest(local)
    expect(Object.keys(manifest.items).sort()).toEqual(items.map((i) => i.id).sort())
    for (const item of items) {
      const entry = manifest.items[item.id] as DoneEntry
      const expected = localManifest.items[item.id] as DoneEntry
      expect(entry.status).toBe('done')
      const bytes = await readFile(join(out, `${item.id}.wav`))
      expect(sha256(bytes)).toBe(entry.sha256)
      expect(entry.sha256, item.id).toBe(expected.sha256)
      expect(entry.frames).toBe(expected.frames)
      expect(entry.settingsKey).toBe(expected.settingsKey)
    }
    // one file per item and the manifest: the killed worker's temporary file was removed, the lock released
    expect(readdirSync(out).sort()).toEqual(['batch-manifest.json', ...items.map((i) => `${i.id}.wav`)].sort())

    // a second submission enqueues nothing and makes nothing
    const again = await submit([corpus, '--out', out, ...queueArgs])
    expect(JSON.parse(again.stdout)).toMatchObject({made: 0, skipped: items.length, failed: 0})

    // SIGTERM: the idle worker leaves at once, exit 0, with its summary
    b.child.kill('SIGTERM')
    const bEnd = await b.child
    expect(bEnd.exitCode, bEnd.stderr).toBe(0)
    expect(bEnd.stdout).toMatch(/worker \S+: \d+ made/)
    console.log(
      `redis kill test: local run ${((tLocal - t0) / 1000).toFixed(1)} s; queue run submitted to kill ${((tKill - tLocal) / 1000).toFixed(1)} s, ` +
        `kill to all made ${((tDone - tKill) / 1000).toFixed(1)} s; total ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    )
  })

  it(`a worker sent SIGTERM finishes the item in hand, then exits 0; another worker makes the rest ${NEEDS_REDIS}`, async () => {
    const items = longItems('term', 3)
    const corpus = join(work, 'term.jsonl')
    await writeFile(corpus, jsonl(items))
    const queueArgs = ['--queue', redis.url, '--queue-name', 'term']
    const first = startWorker([...queueArgs, ...LOCK])
    await first.waitFor(/waiting for items/)
    const out = join(work, 'term-out')
    const submitter = submit([corpus, '--out', out, ...queueArgs])
    const inHand = (await first.waitFor(/making (\S+) \(attempt/))[1] ?? ''
    first.child.kill('SIGTERM')
    const end = await first.child
    expect(end.exitCode, end.stderr).toBe(0)
    expect(end.stderr).toContain(`${inHand} made`)
    expect(end.stderr.match(/making /g)).toHaveLength(1)
    const second = startWorker([...queueArgs, ...LOCK])
    const run = await submitter
    expect(run.exitCode, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({made: 3, failed: 0})
    expect(second.stderr()).not.toContain(`making ${inHand} `)
    second.child.kill('SIGTERM')
    expect((await second.child).exitCode).toBe(0)
  })

  it(`Ctrl-C on the submitter leaves the jobs queued (exit 130); a rerun follows them; made again, identical outputs untouched ${NEEDS_REDIS}`, async () => {
    const items = [
      {id: 'later-a', text: 'Made after the submitter came back.'},
      {id: 'later-b', text: 'So is this one.'},
    ]
    const corpus = join(work, 'later.jsonl')
    await writeFile(corpus, jsonl(items))
    const queueArgs = ['--queue', redis.url, '--queue-name', 'later']
    const out = join(work, 'later-out')
    // no worker yet: the submitter enqueues, says so, and waits
    const first = execa(process.execPath, [bin, 'batch', corpus, '--out', out, ...queueArgs], {
      reject: false,
      stdin: 'ignore',
      cwd: packageRoot(),
    })
    started.push(first)
    let seen = ''
    await new Promise<void>((resolve) => {
      first.stderr?.on('data', (chunk: Buffer) => {
        seen += chunk.toString('utf8')
        if (seen.includes('no worker connected yet')) resolve()
      })
    })
    first.kill('SIGINT')
    const stopped = await first
    expect(stopped.exitCode, stopped.stderr).toBe(130)
    expect(stopped.stderr).toContain('Error [CANCELLED]')
    expect(stopped.stderr).toContain('Run the same command again')

    const worker = startWorker(queueArgs)
    const again = await submit([corpus, '--out', out, ...queueArgs])
    expect(again.exitCode, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({made: 2, failed: 0})
    for (const item of items) expect(worker.stderr().split(`making ${item.id} `)).toHaveLength(2)

    // at-least-once: with the queue emptied and the manifest gone, the items are made again, and the identical
    // outputs already in place are left untouched
    const mtimes = await Promise.all(items.map(async (i) => (await stat(join(out, `${i.id}.wav`))).mtimeMs))
    const client = new Redis(redis.url)
    await client.flushall()
    client.disconnect()
    await rm(join(out, 'batch-manifest.json'))
    const redo = await submit([corpus, '--out', out, ...queueArgs])
    expect(redo.exitCode, redo.stderr).toBe(0)
    expect(JSON.parse(redo.stdout)).toMatchObject({made: 2, failed: 0})
    for (const item of items) expect(worker.stderr()).toContain(`${item.id} identical output already in place, left as it was`)
    expect(await Promise.all(items.map(async (i) => (await stat(join(out, `${i.id}.wav`))).mtimeMs))).toEqual(mtimes)
    worker.child.kill('SIGTERM')
    const end = await worker.child
    expect(end.exitCode).toBe(0)
    expect(end.stdout).toMatch(/: 2 made, 2 already in place, 0 failed/)
  })

  it(`failures are visible from the submitter with their reasons: retried with backoff, then recorded; a rerun makes them ${NEEDS_REDIS}`, async () => {
    const items = [{id: 'retry-a', text: 'Hello there.'}]
    const corpus = join(work, 'fail.jsonl')
    await writeFile(corpus, jsonl(items))
    const queueArgs = ['--queue', redis.url, '--queue-name', 'fail']
    // a worker whose shared folder is not mounted: a failure another worker might not have, so it is retried
    const lost = startWorker([...queueArgs, '--out', join(work, 'not-mounted')])
    await lost.waitFor(/waiting for items/)
    const out = join(work, 'fail-out')
    const run = await submit([corpus, '--out', out, ...queueArgs, '--attempts', '2', '--backoff', '1'])
    expect(run.exitCode, run.stderr).toBe(1)
    expect(run.stderr).toContain('retry-a attempt 1/2 failed, retried later')
    expect(run.stderr).toContain('retry-a FAILED BATCH_OUT_MISSING')
    expect(lost.stderr().match(/making retry-a/g)).toHaveLength(2)
    const entry = (await readManifest(out)).items['retry-a'] as FailedEntry
    expect(entry).toMatchObject({status: 'failed', code: 'BATCH_OUT_MISSING'})
    expect(entry.hint).toContain('--out')
    lost.child.kill('SIGTERM')
    await lost.child

    // a worker running another export refuses at once (no retry): BATCH_MODEL_MISMATCH
    const otherModel = join(work, 'other-model')
    await cp(join(packageRoot(), 'fixtures', 'tiny-onnx'), otherModel, {recursive: true})
    await writeFile(join(otherModel, 'manifest.json'), `${await readFile(join(otherModel, 'manifest.json'), 'utf8')}\n`)
    const other = startWorker([...queueArgs, '--model', otherModel])
    await other.waitFor(/waiting for items/)
    const refused = await submit([corpus, '--out', out, ...queueArgs, '--attempts', '3'])
    expect(refused.exitCode).toBe(1)
    expect(JSON.parse(refused.stdout), refused.stdout).toMatchObject({
      failed: 1,
      items: [{id: 'retry-a', status: 'failed', code: 'BATCH_MODEL_MISMATCH'}],
    })
    expect(other.stderr().match(/making retry-a/g)).toHaveLength(1)
    other.child.kill('SIGTERM')
    await other.child

    // a good worker: the rerun makes the failed item
    const good = startWorker(queueArgs)
    const rerun = await submit([corpus, '--out', out, ...queueArgs])
    expect(rerun.exitCode, rerun.stderr).toBe(0)
    expect(JSON.parse(rerun.stdout)).toMatchObject({made: 1, failed: 0, items: [{id: 'retry-a', status: 'made', reason: 'failed-before'}]})
    expect(existsSync(join(out, 'retry-a.wav'))).toBe(true)
    good.child.kill('SIGTERM')
    await good.child
  })
})

describe('pockettts batch --queue / worker: a bad queue URL is a typed error with what to do', () => {
  let work: string
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-queue-url-'))
    await writeFile(join(work, 'corpus.jsonl'), jsonl([{id: 'a', text: 'Hello.'}]))
  })
  afterAll(async () => rm(work, {recursive: true, force: true}))

  it('a URL that is not redis:// is BATCH_QUEUE_URL_INVALID (exit 2), nothing written', async () => {
    const out = join(work, 'out-invalid')
    for (const args of [
      ['batch', join(work, 'corpus.jsonl'), '--out', out, '--queue', 'http://localhost:6379'],
      ['worker', '--queue', 'localhost:6379'],
    ]) {
      const run = await runCli(args)
      expect(run.exitCode, run.stderr).toBe(2)
      expect(run.stderr).toContain('Error [BATCH_QUEUE_URL_INVALID]')
      expect(run.stderr).toContain('redis://HOST:PORT')
      expect(run.stderr).not.toMatch(/\n\s+at /)
    }
    expect(existsSync(out)).toBe(false)
  })

  it('a server that does not answer is BATCH_QUEUE_UNREACHABLE (exit 3) naming host and port, nothing written', async () => {
    // a port nothing listens on: the OS gives a free one, closed at once
    const {createServer} = await import('node:net')
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address()
        server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 1))
      })
    })
    const out = join(work, 'out-unreachable')
    for (const args of [
      ['batch', join(work, 'corpus.jsonl'), '--out', out, '--queue', `redis://127.0.0.1:${port}`, '--json'],
      ['worker', '--queue', `redis://127.0.0.1:${port}`, '--json'],
    ]) {
      const run = await runCli(args)
      expect(run.exitCode).toBe(3)
      const error = (JSON.parse(run.stdout) as {error: {code: string; message: string; hint: string}}).error
      expect(error.code).toBe('BATCH_QUEUE_UNREACHABLE')
      expect(error.message).toContain(`127.0.0.1:${port}`)
      expect(error.hint).toContain('redis-cli')
    }
    expect(existsSync(out)).toBe(false)
  })

  it('a worker without --queue (or POCKETTTS_QUEUE) is a usage error naming the flag', async () => {
    const run = await runCli(['worker'])
    expect(run.exitCode).toBe(2)
    expect(run.stderr).toContain('Error [USAGE]: Missing required flag queue')
  })

  it('a queue name Redis keys cannot hold is BATCH_QUEUE_NAME_INVALID', async () => {
    const run = await runCli(['worker', '--queue', 'redis://127.0.0.1:1', '--queue-name', 'a:b'])
    expect(run.exitCode).toBe(2)
    expect(run.stderr).toContain('Error [BATCH_QUEUE_NAME_INVALID]')
  })
})
