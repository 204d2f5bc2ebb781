import {createHash} from 'node:crypto'
import {existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'
import {PocketTtsError} from '../../src/errors/index.js'
import {
  downloadModel,
  GATED_REPO,
  REVISIONS,
  UNGATED_REPO,
  type DownloadEvent,
  type DownloadModelParams,
  type LockFile,
} from '../../src/hub/index.js'
import {MAIN_COMMIT, startFakePocketHub, syntheticFiles, TOKENS, type FakePocketFiles} from '../helpers/fake-pocket-hub.js'
import {startLocalHub, type LocalHub} from '../helpers/local-hub.js'

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')
const MODEL = 'languages/english/model.safetensors'
const fast = {attempts: 3, baseDelayMs: 1}

let hub: LocalHub
let files: FakePocketFiles

beforeAll(async () => {
  files = syntheticFiles()
  hub = await startFakePocketHub(files)
})
afterAll(async () => hub.close())

function tempOut(): string {
  return mkdtempSync(join(tmpdir(), 'pockettts-hub-'))
}

/** Runs downloadModel against the local hub; returns the result and the events, or the error. */
async function run(
  params: Partial<DownloadModelParams> & {out: string},
): Promise<{result?: Awaited<ReturnType<typeof downloadModel>>; error?: PocketTtsError; events: DownloadEvent[]}> {
  const events: DownloadEvent[] = []
  try {
    const result = await downloadModel({
      endpoint: hub.url,
      upstream: '2.1.0',
      language: 'english',
      allowNoCloning: true,
      retry: fast,
      onEvent: (e) => events.push(e),
      ...params,
    })
    return {result, events}
  } catch (error) {
    if (!(error instanceof PocketTtsError)) throw error
    return {error, events}
  }
}

function readLock(out: string): LockFile {
  return JSON.parse(readFileSync(join(out, 'pockettts.lock.json'), 'utf8')) as LockFile
}

function incompleteFiles(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir, {recursive: true})
        .map(String)
        .filter((n) => n.endsWith('.incomplete'))
    : []
}

describe('downloadModel against a local hub', () => {
  it('downloads an upstream-format folder and locks every file (repo, commit, path, size, sha256, URL)', async () => {
    const out = tempOut()
    const {result, events} = await run({out})
    expect(result).toBeDefined()
    const r = result!
    expect(r.voiceCloning).toBe(false)
    expect(r.files.map((f) => [f.file, f.status])).toEqual([
      ['english/model.safetensors', 'downloaded'],
      ['english/tokenizer.model', 'downloaded'],
      ['english/voices/alba.safetensors', 'downloaded'],
    ])
    expect(readFileSync(join(out, 'english/model.safetensors')).equals(files.model)).toBe(true)
    expect(readFileSync(join(out, 'english/voices/alba.safetensors')).equals(files.voice)).toBe(true)
    const lock = readLock(out)
    expect(lock.format).toBe('pockettts-lock/1')
    expect(lock.files.find((f) => f.file === 'english/model.safetensors')).toEqual({
      file: 'english/model.safetensors',
      repo: UNGATED_REPO,
      revision: REVISIONS.ungated,
      commit: REVISIONS.ungated,
      path: MODEL,
      size: files.model.length,
      sha256: sha(files.model),
      url: `${hub.url}/${UNGATED_REPO}/resolve/${REVISIONS.ungated}/${MODEL}`,
      upstream: '2.1.0',
    })
    expect(lock.files.find((f) => f.file === 'english/voices/alba.safetensors')?.commit).toBe(REVISIONS.voices)
    const config = parseYaml(readFileSync(join(out, 'english/config.yaml'), 'utf8')) as Record<
      string,
      Record<string, Record<string, unknown>>
    >
    expect(config['weights_path']).toBe('model.safetensors')
    expect(config['weights_path_without_voice_cloning']).toBeUndefined()
    expect(config['flow_lm']?.['lookup_table']?.['tokenizer_path']).toBe('tokenizer.model')
    expect(config['flow_lm']?.['transformer']?.['d_model']).toBe(1024)
    expect(lock.generated.map((g) => [g.file, g.from])).toEqual([['english/config.yaml', 'catalogue:english']])
    expect(events.some((e) => e.type === 'notice' && e.message.includes('no voice cloning'))).toBe(true)
    expect(incompleteFiles(out)).toEqual([])

    // A second run verifies everything and does not touch the network at all.
    const before = hub.requests.length
    const second = await run({out})
    expect(second.result?.files.map((f) => f.status)).toEqual(['verified', 'verified', 'verified'])
    expect(second.result?.config.status).toBe('verified')
    expect(second.result?.downloadedBytes).toBe(0)
    expect(hub.requests.length).toBe(before)

    // --verify-only and --offline work from the lock alone.
    for (const mode of ['verify-only', 'offline'] as const) {
      const checked = await run({out, mode})
      expect(checked.result?.files.every((f) => f.status === 'verified')).toBe(true)
    }
    expect(hub.requests.length).toBe(before)
  })

  it('reports a local file that differs from the lock, naming it, and downloads nothing', async () => {
    const out = tempOut()
    await run({out})
    const path = join(out, 'english/tokenizer.model')
    const damaged = Buffer.from(files.tokenizer)
    damaged[100] = (damaged[100] ?? 0) ^ 1
    writeFileSync(path, damaged)
    const before = hub.requests.length
    for (const mode of ['download', 'verify-only', 'offline'] as const) {
      const {error} = await run({out, mode})
      expect(error?.code).toBe('LOCK_MISMATCH')
      expect(error?.message).toContain('english/tokenizer.model')
      expect(error?.exitCode).toBe(1)
    }
    expect(hub.requests.length).toBe(before)
    expect(readFileSync(path).equals(damaged)).toBe(true)
  })

  it('reports an edited config.yaml', async () => {
    const out = tempOut()
    await run({out})
    writeFileSync(join(out, 'english/config.yaml'), 'weights_path: other.safetensors\n')
    const {error} = await run({out, mode: 'verify-only'})
    expect(error?.code).toBe('LOCK_MISMATCH')
    expect(error?.message).toContain('english/config.yaml')
  })

  it('refuses a served file whose bytes do not hash to the listing, and writes nothing for it', async () => {
    const out = tempOut()
    const key = `${UNGATED_REPO}/${MODEL}`
    hub.faults.corrupt.add(key)
    try {
      const {error} = await run({out})
      expect(error?.code).toBe('HUB_CHECKSUM_MISMATCH')
      expect(error?.message).toContain(MODEL)
    } finally {
      hub.faults.corrupt.delete(key)
    }
    expect(existsSync(join(out, 'english/model.safetensors'))).toBe(false)
    expect(incompleteFiles(out)).toEqual([])
    expect(existsSync(join(out, 'english/config.yaml'))).toBe(false)
    // Files that did finish are locked, so the next run only fetches the weights.
    const locked = readLock(out).files.map((f) => f.file)
    expect(locked).not.toContain('english/model.safetensors')
    const retry = await run({out})
    expect(retry.result?.files.find((f) => f.file === 'english/model.safetensors')?.status).toBe('downloaded')
    expect(retry.result?.files.filter((f) => f.status === 'verified').map((f) => f.file)).toEqual(locked)
  })

  it('resumes with a Range request after the connection is cut mid-file', async () => {
    const out = tempOut()
    hub.faults.cutAfter.set(`${UNGATED_REPO}/${MODEL}`, 1_000_000)
    const seen = hub.dataRequests(MODEL).length
    const {result, events} = await run({out})
    expect(result?.files[0]?.status).toBe('downloaded')
    const requests = hub.dataRequests(MODEL).slice(seen)
    // the resume asks for what was kept: the 1,000,000 bytes the hub sent before the cut, or fewer when the
    // connection died before all of them arrived (a loaded machine); the file must come out whole either way
    expect(requests.map((r) => r.range)).toEqual([undefined, expect.stringMatching(/^bytes=\d+-$/)])
    const from = Number(/^bytes=(\d+)-$/.exec(requests[1]?.range ?? '')?.[1])
    expect(from).toBeGreaterThan(0)
    expect(from).toBeLessThanOrEqual(1_000_000)
    expect(events.some((e) => e.type === 'retry' && e.what === MODEL)).toBe(true)
    expect(readFileSync(join(out, 'english/model.safetensors')).equals(files.model)).toBe(true)
  })

  it('leaves no file under its final name when cancelled mid-transfer, and the next run resumes the partial file', async () => {
    const out = tempOut()
    const controller = new AbortController()
    const events: DownloadEvent[] = []
    const error = await downloadModel({
      endpoint: hub.url,
      upstream: '2.1.0',
      language: 'english',
      allowNoCloning: true,
      out,
      concurrency: 1,
      signal: controller.signal,
      onEvent: (e) => {
        events.push(e)
        if (e.type === 'file-progress' && e.file === 'english/model.safetensors' && e.done > 0) controller.abort()
      },
    }).catch((e: unknown) => e)
    expect((error as PocketTtsError).code).toBe('CANCELLED')
    expect((error as PocketTtsError).exitCode).toBe(130)
    expect(existsSync(join(out, 'english/model.safetensors'))).toBe(false)
    expect(existsSync(join(out, 'english/config.yaml'))).toBe(false)
    const partial = incompleteFiles(out)
    expect(partial).toEqual([`english/model.safetensors.${sha(files.model).slice(0, 12)}.incomplete`])
    const kept = readFileSync(join(out, partial[0]!)).length
    expect(kept).toBeGreaterThan(0)
    expect(kept).toBeLessThan(files.model.length)

    const seen = hub.dataRequests(MODEL).length
    const {result} = await run({out})
    expect(result?.files[0]?.status).toBe('resumed')
    expect(
      hub
        .dataRequests(MODEL)
        .slice(seen)
        .map((r) => r.range),
    ).toEqual([`bytes=${kept}-`])
    expect(result?.downloadedBytes).toBe(files.model.length - kept + files.tokenizer.length + files.voice.length)
    expect(readFileSync(join(out, 'english/model.safetensors')).equals(files.model)).toBe(true)
    expect(incompleteFiles(out)).toEqual([])
  })

  it('starts afresh when a partial file from an earlier run was damaged', async () => {
    const out = tempOut()
    const partial = join(out, 'english', `model.safetensors.${sha(files.model).slice(0, 12)}.incomplete`)
    await run({out, voices: []}).then(() => undefined)
    // Replace the weights by a damaged partial file and forget them in the lock.
    const {rmSync, mkdirSync} = await import('node:fs')
    rmSync(join(out, 'english/model.safetensors'))
    mkdirSync(join(out, 'english'), {recursive: true})
    writeFileSync(partial, randomPrefix(500_000))
    const lock = readLock(out)
    writeFileSync(
      join(out, 'pockettts.lock.json'),
      JSON.stringify({...lock, files: lock.files.filter((f) => f.file !== 'english/model.safetensors')}),
    )
    const seen = hub.dataRequests(MODEL).length
    const {result} = await run({out, voices: []})
    expect(
      hub
        .dataRequests(MODEL)
        .slice(seen)
        .map((r) => r.range),
    ).toEqual(['bytes=500000-', undefined])
    expect(result?.files[0]?.status).toBe('downloaded')
    expect(readFileSync(join(out, 'english/model.safetensors')).equals(files.model)).toBe(true)
  })

  it('retries HTTP 503 with backoff', async () => {
    const out = tempOut()
    hub.faults.status.set(`${UNGATED_REPO}/languages/english/tokenizer.model`, {status: 503, times: 2})
    const {result, events} = await run({out})
    expect(result?.files[1]?.status).toBe('downloaded')
    expect(events.filter((e) => e.type === 'retry').map((e) => (e.type === 'retry' ? e.delayMs : 0))).toEqual([1, 2])
  })

  it('explains the gate on 401 (no token) and 403 (terms not accepted), and never falls back silently', async () => {
    const out = tempOut()
    const noToken = await run({out, allowNoCloning: false})
    expect(noToken.error?.code).toBe('HUB_GATED')
    expect(noToken.error?.exitCode).toBe(3)
    expect(noToken.error?.message).toContain('HTTP 401: no token was given')
    expect(noToken.error?.hint).toContain('accept the terms')
    expect(noToken.error?.hint).toContain('--allow-no-cloning')
    expect(existsSync(join(out, 'english/model.safetensors'))).toBe(false)

    const notAccepted = await run({out: tempOut(), allowNoCloning: false, accessToken: TOKENS.notAccepted})
    expect(notAccepted.error?.code).toBe('HUB_GATED')
    expect(notAccepted.error?.message).toContain('HTTP 403')

    // With the fallback allowed, a refused token falls back to the ungated weights and says so.
    const fallback = await run({out: tempOut(), allowNoCloning: true, accessToken: TOKENS.notAccepted})
    expect(fallback.result?.voiceCloning).toBe(false)
    expect(fallback.result?.files[0]?.repo).toBe(UNGATED_REPO)
    expect(
      fallback.events.some((e) => e.type === 'notice' && e.message.includes('HTTP 403') && e.message.includes('no voice cloning')),
    ).toBe(true)
  })

  it('downloads the gated weights with an accepted token', async () => {
    const out = tempOut()
    const {result} = await run({out, allowNoCloning: false, accessToken: TOKENS.accepted})
    expect(result?.voiceCloning).toBe(true)
    expect(result?.files[0]).toMatchObject({repo: GATED_REPO, commit: REVISIONS.gated, sha256: sha(files.gatedModel)})
    expect(readFileSync(join(out, 'english/config.yaml'), 'utf8')).toContain(
      `Weights: ${GATED_REPO}/${MODEL} at ${REVISIONS.gated} (with voice cloning)`,
    )
    // Asking for the ungated weights later is a different source: the lock entry is replaced.
    const again = await run({out, allowNoCloning: true})
    expect(again.result?.files[0]).toMatchObject({repo: UNGATED_REPO, status: 'downloaded'})
    expect(again.result?.config.status).toBe('written')
  })

  it('names a file the repo does not hold (404)', async () => {
    const {error} = await run({out: tempOut(), voices: ['alba', 'marius']})
    expect(error?.code).toBe('HUB_NOT_FOUND')
    expect(error?.message).toContain('languages/english/embeddings/marius.safetensors')
    const badRevision = await run({out: tempOut(), revision: 'no-such-branch'})
    expect(badRevision.error?.code).toBe('HUB_NOT_FOUND')
    expect(badRevision.error?.message).toContain('no-such-branch')
  })

  it('reports an unreachable hub after retrying', async () => {
    const down = await startLocalHub({repos: {}})
    await down.close()
    const {error, events} = await run({out: tempOut(), endpoint: down.url, retry: {attempts: 2, baseDelayMs: 1}})
    expect(error?.code).toBe('HUB_UNREACHABLE')
    expect(error?.message).toContain('ECONNREFUSED')
    // One retry per request that failed (the two revisions of the ungated repo are resolved in parallel).
    const retries = events.filter((e) => e.type === 'retry')
    expect(retries.length).toBeGreaterThan(0)
    expect(retries.every((e) => e.type === 'retry' && e.attempt === 1 && e.attempts === 2)).toBe(true)
  })

  it('offline: refuses without a lock file, and names the files it lacks', async () => {
    const out = tempOut()
    const none = await run({out, mode: 'offline'})
    expect(none.error?.code).toBe('LOCK_MISSING')
    await run({out})
    const before = hub.requests.length
    const more = await run({out, mode: 'offline', voices: ['alba', 'marius']})
    expect(more.error?.code).toBe('OFFLINE_MISSING')
    expect(more.error?.message).toContain('english/voices/marius.safetensors')
    const {rmSync} = await import('node:fs')
    rmSync(join(out, 'english/voices/alba.safetensors'))
    const missing = await run({out, mode: 'offline'})
    expect(missing.error?.code).toBe('OFFLINE_MISSING')
    expect(missing.error?.message).toContain('english/voices/alba.safetensors (missing)')
    expect(hub.requests.length).toBe(before)
    // Online, the missing file is fetched again at the locked commit.
    const back = await run({out})
    expect(back.result?.files.map((f) => f.status)).toEqual(['verified', 'verified', 'downloaded'])
  })

  it('--revision resolves a branch to its commit; --files fetches matches from the tree listing (git-hashed files too)', async () => {
    const out = tempOut()
    const {result} = await run({out, revision: 'main', files: ['*.md'], voices: []})
    expect(result?.files.map((f) => [f.file, f.revision, f.commit])).toEqual([
      ['english/model.safetensors', 'main', MAIN_COMMIT],
      ['english/tokenizer.model', 'main', MAIN_COMMIT],
      ['english/files/README.md', 'main', MAIN_COMMIT],
    ])
    expect(readFileSync(join(out, 'english/files/README.md'), 'utf8')).toContain('fake pocket-tts')
    const before = hub.requests.length
    const second = await run({out, revision: 'main', files: ['*.md'], voices: []})
    expect(second.result?.files.every((f) => f.status === 'verified')).toBe(true)
    expect(hub.requests.length).toBe(before)
    const nothing = await run({out: tempOut(), files: ['*.onnx'], voices: []})
    expect(nothing.error?.code).toBe('FILES_NO_MATCH')
  })

  it('--config-from takes the architecture from an upstream-schema file', async () => {
    const out = tempOut()
    const template = join(out, 'tiny.yaml')
    writeFileSync(
      template,
      'weights_path: hf://x/y.safetensors@1\nweights_path_without_voice_cloning: ' +
        'hf://x/z.safetensors@1\nflow_lm:\n  transformer: {d_model: 64}\n  lookup_table: {dim: 64, n_bins: ' +
        '4000, tokenizer: sentencepiece, tokenizer_path: hf://x/t.model@1}\n  weights_path: ' +
        'flow.safetensors\nmimi:\n  inner_dim: 32\n',
    )
    const {result} = await run({out, configFrom: template, voices: []})
    expect(result?.config.status).toBe('written')
    const text = readFileSync(join(out, 'english/config.yaml'), 'utf8')
    expect(parseYaml(text)).toEqual({
      weights_path: 'model.safetensors',
      flow_lm: {
        transformer: {d_model: 64},
        lookup_table: {dim: 64, n_bins: 4000, tokenizer: 'sentencepiece', tokenizer_path: 'tokenizer.model'},
      },
      mimi: {inner_dim: 32},
    })
    expect(readLock(out).generated[0]?.from).toBe('config-from:tiny.yaml')
  })
})

function randomPrefix(n: number): Buffer {
  return Buffer.alloc(n, 7)
}
