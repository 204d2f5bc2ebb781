import {createHash} from 'node:crypto'
import {existsSync, readdirSync} from 'node:fs'
import {mkdir, mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {beforeAll, describe, expect, it} from 'vitest'
import type {BatchManifest, DoneEntry} from '../../src/batch/index.js'
import {packageRoot} from '../../src/config/project-paths.js'
import {runCli} from '../helpers/cli.js'

interface ItemReport {
  readonly id: string
  readonly status: 'made' | 'skipped' | 'failed'
  readonly reason?: string
  readonly code?: string
  readonly entry?: DoneEntry
}

interface Report {
  readonly total: number
  readonly made: number
  readonly skipped: number
  readonly failed: number
  readonly items: readonly ItemReport[]
}

const CORPUS = [
  {id: 'hello', text: 'Hello world.'},
  {id: 'second', text: 'A second sentence, a little longer.', seed: 5},
  {id: 'third', text: 'The third item speaks with less noise.', temperature: 0.4, maxTokens: 20},
  {id: 'fourth.v2', text: 'Four.', lsdDecodeSteps: 2, format: 'wavf32'},
]

const jsonl = (lines: readonly unknown[]): string => `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

async function readManifest(dir: string): Promise<BatchManifest> {
  return JSON.parse(await readFile(join(dir, 'batch-manifest.json'), 'utf8')) as BatchManifest
}

async function batch(args: readonly string[]): Promise<{exitCode: number; report: Report; stderr: string}> {
  const run = await runCli(['batch', ...args, '--json'])
  expect(run.stdout, run.stderr).not.toBe('')
  return {exitCode: run.exitCode, report: JSON.parse(run.stdout) as Report, stderr: run.stderr}
}

async function fileState(path: string): Promise<{sha256: string; mtimeMs: number}> {
  return {sha256: sha256(await readFile(path)), mtimeMs: (await stat(path)).mtimeMs}
}

describe('pockettts batch (embedded fixture model)', () => {
  let work: string
  let corpus: string
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-batch-'))
    corpus = join(work, 'corpus.jsonl')
    await writeFile(corpus, jsonl(CORPUS))
  })

  it('makes every item as <id>.wav with a manifest of hashes, frames, durations and settings', async () => {
    const out = join(work, 'first')
    const {exitCode, report} = await batch([corpus, '--out', out])
    expect(exitCode).toBe(0)
    expect(report).toMatchObject({total: 4, made: 4, skipped: 0, failed: 0})
    expect(readdirSync(out).sort()).toEqual(['batch-manifest.json', 'fourth.v2.wav', 'hello.wav', 'second.wav', 'third.wav'])
    const manifest = await readManifest(out)
    expect(Object.keys(manifest.items).sort()).toEqual(['fourth.v2', 'hello', 'second', 'third'])
    for (const item of CORPUS) {
      const entry = manifest.items[item.id] as DoneEntry
      expect(entry.status).toBe('done')
      const bytes = await readFile(join(out, `${item.id}.wav`))
      expect(entry.sha256).toBe(sha256(bytes))
      expect(entry.bytes).toBe(bytes.length)
      expect(entry.frames).toBeGreaterThan(0)
      expect(entry.audioSeconds).toBeCloseTo((entry.frames * 1920) / 24_000, 9)
      expect(entry.fileSeconds).toBeCloseTo(entry.audioSeconds + 0.2, 9)
      expect(entry.settings.text).toBe(item.text)
    }
    expect((manifest.items['second'] as DoneEntry).settings.seed).toBe(5)
    expect((manifest.items['third'] as DoneEntry).settings.params).toMatchObject({temperature: 0.4, maxTokens: 20})
    expect((manifest.items['fourth.v2'] as DoneEntry).settings).toMatchObject({format: 'wavf32', params: {lsdDecodeSteps: 2}})
    // a wavf32 file: IEEE float format tag
    expect((await readFile(join(out, 'fourth.v2.wav'))).readUInt16LE(20)).toBe(3)
  })

  it('an item is the audio synth makes with the same text and seed', async () => {
    const out = join(work, 'first')
    const synthOut = join(work, 'synth-second.wav')
    const synth = await runCli(['synth', 'A second sentence, a little longer.', '--seed', '5', '--out', synthOut])
    expect(synth.exitCode, synth.stderr).toBe(0)
    expect((await readFile(synthOut)).equals(await readFile(join(out, 'second.wav')))).toBe(true)
  })

  it('a second run skips every finished item (no synthesis, files untouched); an altered or missing output is made again', async () => {
    const out = join(work, 'resume')
    expect((await batch([corpus, '--out', out])).exitCode).toBe(0)
    const before = Object.fromEntries(
      await Promise.all(CORPUS.map(async (i) => [i.id, await fileState(join(out, `${i.id}.wav`))] as const)),
    )

    const again = await batch([corpus, '--out', out])
    expect(again.exitCode).toBe(0)
    expect(again.report).toMatchObject({total: 4, made: 0, skipped: 4, failed: 0})
    expect(again.report.items.map((i) => i.status)).toEqual(['skipped', 'skipped', 'skipped', 'skipped'])
    for (const item of CORPUS) expect(await fileState(join(out, `${item.id}.wav`))).toEqual(before[item.id])

    const altered = join(out, 'second.wav')
    const bytes = await readFile(altered)
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0xff
    await writeFile(altered, bytes)
    await writeFile(join(out, 'hello.wav'), '') // emptied
    await rm(join(out, 'third.wav'))

    const redo = await batch([corpus, '--out', out])
    expect(redo.exitCode).toBe(0)
    expect(redo.report).toMatchObject({total: 4, made: 3, skipped: 1, failed: 0})
    const byId = Object.fromEntries(redo.report.items.map((i) => [i.id, i]))
    expect(byId['second']).toMatchObject({status: 'made', reason: 'output-altered'})
    expect(byId['hello']).toMatchObject({status: 'made', reason: 'output-altered'})
    expect(byId['third']).toMatchObject({status: 'made', reason: 'output-missing'})
    expect(byId['fourth.v2']).toMatchObject({status: 'skipped'})
    expect(await fileState(join(out, 'fourth.v2.wav'))).toEqual(before['fourth.v2'])
    // made again from the same seed: the original bytes
    for (const id of ['second', 'hello', 'third']) expect((await fileState(join(out, `${id}.wav`))).sha256).toBe(before[id]?.sha256)
  })

  it('a changed text or setting makes that item again', async () => {
    const out = join(work, 'changed')
    expect((await batch([corpus, '--out', out])).exitCode).toBe(0)
    const changed = join(work, 'changed.jsonl')
    await writeFile(changed, jsonl(CORPUS.map((i) => (i.id === 'hello' ? {...i, text: 'Hello there.'} : i))))
    const run = await batch([changed, '--out', out])
    expect(run.report).toMatchObject({made: 1, skipped: 3})
    expect(run.report.items.find((i) => i.id === 'hello')).toMatchObject({status: 'made', reason: 'settings-changed'})
    const seeds = await batch([changed, '--out', out, '--seed', '9'])
    // "second" sets its own seed; the other three take the new default
    expect(seeds.report).toMatchObject({made: 3, skipped: 1})
  })

  it('--jobs 2 makes the same audio per item as --jobs 1', async () => {
    const one = join(work, 'jobs1')
    const two = join(work, 'jobs2')
    const a = await batch([corpus, '--out', one, '--jobs', '1'])
    const b = await batch([corpus, '--out', two, '--jobs', '2'])
    expect([a.exitCode, b.exitCode]).toEqual([0, 0])
    expect(b.report.made).toBe(4)
    for (const item of CORPUS) {
      const name = `${item.id}.wav`
      expect((await readFile(join(one, name))).equals(await readFile(join(two, name))), name).toBe(true)
    }
  })

  it('records an item whose synthesis fails with its error code, makes the others, and exits 1', async () => {
    const dir = join(work, 'failing')
    await mkdir(dir)
    await writeFile(join(dir, 'not-audio.wav'), 'this is not a WAV file')
    const failing = join(dir, 'corpus.jsonl')
    await writeFile(failing, jsonl([CORPUS[0], {id: 'bad-voice', text: 'This voice is no audio.', voice: 'not-audio.wav'}, CORPUS[1]]))
    const out = join(dir, 'out')
    const run = await batch([failing, '--out', out])
    expect(run.exitCode).toBe(1)
    expect(run.report).toMatchObject({total: 3, made: 2, failed: 1})
    const failed = run.report.items.find((i) => i.id === 'bad-voice')
    expect(failed?.status).toBe('failed')
    expect(failed?.code).toMatch(/^[A-Z_]+$/)
    const manifest = await readManifest(out)
    expect(manifest.items['bad-voice']).toMatchObject({status: 'failed', code: failed?.code})
    expect(existsSync(join(out, 'bad-voice.wav'))).toBe(false)
    expect(readdirSync(out).sort()).toEqual(['batch-manifest.json', 'hello.wav', 'second.wav'])
    // a rerun tries the failed item again and skips the rest
    const rerun = await batch([failing, '--out', out])
    expect(rerun.exitCode).toBe(1)
    expect(rerun.report).toMatchObject({made: 0, skipped: 2, failed: 1})
    expect(rerun.report.items.find((i) => i.id === 'bad-voice')).toMatchObject({status: 'failed', reason: 'failed-before'})
  })

  describe('a bad corpus is refused before any work, naming the line, with nothing written', () => {
    it.each([
      ['invalid JSON', [CORPUS[0], '{"id": "x", "text": '], 'CORPUS_INVALID_JSON', 'line 2'],
      ['not an object', ['["hello", "text"]'], 'CORPUS_INVALID_JSON', 'line 1'],
      ['missing id', [CORPUS[0], CORPUS[1], {text: 'No id.'}], 'CORPUS_MISSING_FIELD', 'line 3'],
      ['missing text', [{id: 'no-text'}], 'CORPUS_MISSING_FIELD', 'line 1'],
      ['blank text', [{id: 'blank', text: '   '}], 'CORPUS_INVALID_FIELD', 'line 1'],
      ['duplicate id', [CORPUS[0], CORPUS[1], {id: 'hello', text: 'Again.'}], 'CORPUS_DUPLICATE_ID', 'line 3'],
      ['duplicate id in another case', [CORPUS[0], {id: 'HELLO', text: 'Again.'}], 'CORPUS_DUPLICATE_ID', 'line 2'],
      ['id climbing out', [{id: '../escape', text: 'Out.'}], 'CORPUS_UNSAFE_ID', 'line 1'],
      ['id with a folder', [CORPUS[0], {id: 'a/b', text: 'Sub.'}], 'CORPUS_UNSAFE_ID', 'line 2'],
      ['hidden-file id', [{id: '.hidden', text: 'Dot.'}], 'CORPUS_UNSAFE_ID', 'line 1'],
      ['numeric id', [{id: 7, text: 'Number.'}], 'CORPUS_INVALID_FIELD', 'line 1'],
      ['unknown field', [{id: 'x', text: 'Typo.', temprature: 0.5}], 'CORPUS_UNKNOWN_FIELD', 'line 1'],
      ['out-of-range setting', [CORPUS[0], {id: 'x', text: 'Hot.', temperature: 50}], 'CORPUS_INVALID_FIELD', 'line 2'],
      ['unknown format', [{id: 'x', text: 'Mp3.', format: 'mp3'}], 'CORPUS_INVALID_FIELD', 'line 1'],
      ['unknown voice', [CORPUS[0], {id: 'x', text: 'Who?', voice: 'nobody'}], 'VOICE_NOT_FOUND', 'line 2'],
      ['no item', ['', '  '], 'CORPUS_EMPTY', 'no item'],
    ])('%s', async (_name, lines, code, where) => {
      const dir = await mkdtemp(join(work, 'bad-'))
      const bad = join(dir, 'corpus.jsonl')
      await writeFile(bad, jsonl(lines))
      const out = join(dir, 'out')
      const run = await runCli(['batch', bad, '--out', out])
      expect(run.exitCode, run.stderr).toBe(2)
      expect(run.stderr).toContain(`Error [${code}]`)
      expect(run.stderr).toContain(where)
      expect(existsSync(out)).toBe(false)
      const json = await runCli(['batch', bad, '--out', out, '--json'])
      expect(JSON.parse(json.stdout)).toMatchObject({error: {code, exitCode: 2}})
      expect(readdirSync(dir)).toEqual(['corpus.jsonl'])
    })

    it('--jobs beyond the cores is INVALID_FLAG_VALUE', async () => {
      const run = await runCli(['batch', corpus, '--out', join(work, 'never'), '--jobs', '10000'])
      expect(run.exitCode).toBe(2)
      expect(run.stderr).toContain('Error [INVALID_FLAG_VALUE]')
      expect(run.stderr).toContain('--jobs: expected a whole number from 1 to')
      expect(existsSync(join(work, 'never'))).toBe(false)
    })
  })

  /** A corpus of long items (EOS never fires: each chunk runs to max_gen_len), so a stop lands with items left. */
  async function longCorpus(prefix: string): Promise<{long: string; out: string; items: {id: string}[]}> {
    const longText = 'This sentence is long enough to be generated for a good while before its chunk ends. '.repeat(2).trim()
    const items = Array.from({length: 5}, (_, i) => ({id: `long-${i}`, text: longText, eosThreshold: 1e9, seed: i}))
    const dir = await mkdtemp(join(work, prefix))
    const long = join(dir, 'corpus.jsonl')
    await writeFile(long, jsonl(items))
    return {long, out: join(dir, 'out'), items}
  }

  /** Starts the real CLI on a corpus and waits until its manifest records a finished item (the child in an object: it is a promise). */
  async function startUntilFirstItem(long: string, out: string, jobs: string) {
    const child = execa(process.execPath, [join(packageRoot(), 'bin', 'run.js'), 'batch', long, '--out', out, '--jobs', jobs], {
      reject: false,
      stdin: 'ignore',
      cwd: packageRoot(),
    })
    for (;;) {
      if (existsSync(join(out, 'batch-manifest.json')) && Object.keys((await readManifest(out)).items).length > 0) break
      if (child.exitCode !== null) throw new Error(`the batch ended before it could be stopped: ${child.exitCode}`)
      await new Promise((r) => setTimeout(r, 20))
    }
    return {child}
  }

  it('a killed run loses nothing finished: the resumed run makes only the rest, finished outputs untouched', async () => {
    const {long, out, items} = await longCorpus('kill-')
    // once the manifest records a finished item, kill the CLI outright
    const {child} = await startUntilFirstItem(long, out, '1')
    const workers = (await execa('ps', ['-o', 'pid=', '--ppid', String(child.pid)], {reject: false})).stdout
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((pid) => pid > 0)
    child.kill('SIGKILL')
    await child
    // the workers notice their parent is gone and exit: wait until they have
    for (const pid of workers) {
      for (;;) {
        try {
          process.kill(pid, 0)
        } catch {
          break
        }
        await new Promise((r) => setTimeout(r, 20))
      }
    }
    // the killed run's lock is left behind, naming a process that is gone: the next run takes it over
    expect(existsSync(join(out, '.batch-lock'))).toBe(true)
    const afterKill = await readManifest(out)
    const done = Object.keys(afterKill.items)
    expect(done.length).toBeGreaterThan(0)
    expect(done.length).toBeLessThan(items.length)
    const kept = Object.fromEntries(await Promise.all(done.map(async (id) => [id, await fileState(join(out, `${id}.wav`))] as const)))
    for (const id of done) expect(kept[id]?.sha256).toBe((afterKill.items[id] as DoneEntry).sha256)

    const resumed = await batch([long, '--out', out])
    expect(resumed.exitCode).toBe(0)
    expect(resumed.report).toMatchObject({total: items.length, skipped: done.length, made: items.length - done.length, failed: 0})
    for (const r of resumed.report.items) expect(r.status).toBe(done.includes(r.id) ? 'skipped' : 'made')
    for (const id of done) expect(await fileState(join(out, `${id}.wav`))).toEqual(kept[id])
    const manifest = await readManifest(out)
    expect(Object.keys(manifest.items).sort()).toEqual(items.map((i) => i.id).sort())
    for (const item of items) {
      const entry = manifest.items[item.id] as DoneEntry
      expect(entry.status).toBe('done')
      expect(sha256(await readFile(join(out, `${item.id}.wav`)))).toBe(entry.sha256)
    }
    // no half-written file is left
    expect(
      readdirSync(out)
        .filter((f) => f.startsWith('.'))
        .sort(),
    ).toEqual([])
  })

  it('Ctrl-C stops the workers, keeps what is finished, leaves no temporary file, exits 130; the next run makes the rest', async () => {
    const {long, out, items} = await longCorpus('sigint-')
    const {child} = await startUntilFirstItem(long, out, '2')
    child.kill('SIGINT')
    const result = await child
    expect(result.exitCode, result.stderr).toBe(130)
    expect(result.stderr).toContain('CANCELLED')
    const manifest = await readManifest(out)
    const done = Object.keys(manifest.items)
    expect(done.length).toBeLessThan(items.length)
    for (const id of done) {
      expect(manifest.items[id]?.status).toBe('done')
      expect(sha256(await readFile(join(out, `${id}.wav`)))).toBe((manifest.items[id] as DoneEntry).sha256)
    }
    // the item in flight was abandoned by its writer; the lock was released
    expect(readdirSync(out).sort()).toEqual(['batch-manifest.json', ...done.map((id) => `${id}.wav`)].sort())
    const resumed = await batch([long, '--out', out])
    expect(resumed.exitCode).toBe(0)
    expect(resumed.report).toMatchObject({skipped: done.length, made: items.length - done.length, failed: 0})
  })

  it('refuses an output folder another live batch holds (BATCH_IN_PROGRESS), writing nothing', async () => {
    const out = join(work, 'locked')
    await mkdir(out)
    // a live process that is not this one
    await writeFile(join(out, '.batch-lock'), JSON.stringify({pid: process.ppid, startedAt: new Date().toISOString()}))
    const run = await runCli(['batch', corpus, '--out', out])
    expect(run.exitCode).toBe(2)
    expect(run.stderr).toContain('Error [BATCH_IN_PROGRESS]')
    expect(run.stderr).toContain(`pid ${process.ppid}`)
    expect(readdirSync(out)).toEqual(['.batch-lock'])
  })

  it('a worker process that dies fails only the item it held (WORKER_EXITED); the other worker makes the rest', async () => {
    const {long, out, items} = await longCorpus('worker-dies-')
    const {child} = await startUntilFirstItem(long, out, '2')
    const workers = (await execa('ps', ['-o', 'pid=', '--ppid', String(child.pid)], {reject: false})).stdout
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((pid) => pid > 0)
    expect(workers).toHaveLength(2)
    process.kill(workers[0] as number, 'SIGKILL')
    const result = await child
    const manifest = await readManifest(out)
    const entries = Object.values(manifest.items)
    expect(entries).toHaveLength(items.length)
    const failed = entries.filter((e) => e.status === 'failed')
    // the worker was killed while it held an item (it is idle only between an item's end and the next hand-out)
    expect(failed.length).toBeLessThanOrEqual(1)
    for (const f of failed) expect(f).toMatchObject({code: 'WORKER_EXITED'})
    expect(result.exitCode, result.stderr).toBe(failed.length === 0 ? 0 : 1)
    for (const e of entries.filter((x): x is DoneEntry => x.status === 'done'))
      expect(sha256(await readFile(join(out, e.file)))).toBe(e.sha256)
    // its half-written file was removed at the end of the run
    expect(readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([])
    const rerun = await batch([long, '--out', out])
    expect(rerun.exitCode).toBe(0)
    expect(rerun.report).toMatchObject({made: failed.length, skipped: items.length - failed.length, failed: 0})
  })
})
