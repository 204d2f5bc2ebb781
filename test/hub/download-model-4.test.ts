import {createHash, randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {PocketTtsError} from '../../src/errors/index.js'
import {
  CONFIGS_4_0_1,
  downloadModel,
  languages,
  planDownload,
  readLockFile,
  REVISIONS,
  UNGATED_REPO,
  VOICES_REVISION_4_0_1,
  type DownloadEvent,
  type LockFile,
} from '../../src/hub/index.js'
import {startLocalHub, type LocalHub} from '../helpers/local-hub.js'

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')
const english4 = CONFIGS_4_0_1.english
const dutch4 = CONFIGS_4_0_1.dutch

/** 4.0.1's `english` and `dutch` without voice cloning, as the ungated repo serves them at 4.0.1's pins. */
const files = {
  englishModel: randomBytes(1024 * 1024 + 3),
  englishTokenizer: Buffer.from(JSON.stringify({model: {type: 'Unigram', vocab: [['<unk>', 0]]}})),
  dutchModel: randomBytes(300_001),
  dutchTokenizer: Buffer.from(
    JSON.stringify({
      model: {
        type: 'Unigram',
        vocab: [
          ['<unk>', 0],
          ['daan', -1],
        ],
      },
    }),
  ),
  alba: randomBytes(40_000),
  daan: randomBytes(41_000),
}

let hub: LocalHub
beforeAll(async () => {
  const revisions = [english4.weightsWithoutCloning, english4.tokenizer, dutch4.weightsWithoutCloning, dutch4.tokenizer].map(
    (r) => r.revision,
  )
  hub = await startLocalHub({
    repos: {
      [UNGATED_REPO]: {
        revisions: Object.fromEntries([...revisions, VOICES_REVISION_4_0_1].map((r) => [r, r])),
        files: {
          [english4.weightsWithoutCloning.path]: files.englishModel,
          [english4.tokenizer.path]: files.englishTokenizer,
          [dutch4.weightsWithoutCloning.path]: files.dutchModel,
          [dutch4.tokenizer.path]: files.dutchTokenizer,
          'languages/english/embeddings/alba.safetensors': files.alba,
          'languages/dutch/embeddings/daan.safetensors': files.daan,
        },
      },
    },
  })
})
afterAll(async () => hub.close())

function tempOut(): string {
  return mkdtempSync(join(tmpdir(), 'pockettts-hub4-'))
}

function readLock(out: string): LockFile {
  return JSON.parse(readFileSync(join(out, 'pockettts.lock.json'), 'utf8')) as LockFile
}

describe('model download plans by upstream release', () => {
  it("`english` is the release's own english: 4.0.1 takes english_2026-10's weights and tokenizer.json, 2.1.0 its tokenizer.model", () => {
    const plan4 = planDownload({upstream: '4.0.1', language: 'english', voices: ['alba'], allowNoCloning: true})
    expect(plan4.folder).toBe('4.0.1/english')
    expect(plan4.files.map((f) => [f.file, f.kind, f.upstream, f.sources.map((s) => `${s.repo}/${s.path}@${s.revision}`)])).toEqual([
      [
        '4.0.1/english/model.safetensors',
        'weights',
        '4.0.1',
        [`${UNGATED_REPO}/languages/english/model.safetensors@${english4.weightsWithoutCloning.revision}`],
      ],
      [
        '4.0.1/english/tokenizer.json',
        'tokenizer',
        '4.0.1',
        [`${UNGATED_REPO}/languages/english/tokenizer.json@${english4.tokenizer.revision}`],
      ],
      [
        '4.0.1/english/voices/alba.safetensors',
        'voice',
        '4.0.1',
        [`${UNGATED_REPO}/languages/english/embeddings/alba.safetensors@${VOICES_REVISION_4_0_1}`],
      ],
    ])
    // the same weights as 4.0.1's english_2026-10
    const e2610 = CONFIGS_4_0_1['english_2026-10'].weightsWithoutCloning
    expect(plan4.files[0]?.sources[0]?.revision).toBe(e2610.revision)

    const plan2 = planDownload({upstream: '2.1.0', language: 'english', voices: [], allowNoCloning: true})
    expect(plan2.folder).toBe('english')
    expect(plan2.files.map((f) => [f.file, f.upstream, f.sources[0]?.revision])).toEqual([
      ['english/model.safetensors', '2.1.0', REVISIONS.ungated],
      ['english/tokenizer.model', '2.1.0', REVISIONS.ungated],
    ])
  })

  it("accepts every 4.0.1 config name and picks each one's tokenizer file (tokenizer.json or tokenizer.model)", () => {
    for (const [name, entry] of Object.entries(CONFIGS_4_0_1)) {
      const plan = planDownload({upstream: '4.0.1', language: name, voices: []})
      const tokenizer = plan.files.find((f) => f.kind === 'tokenizer')
      expect(tokenizer?.file).toBe(`4.0.1/${name}/${entry.tokenizerKind === 'tokenizers' ? 'tokenizer.json' : 'tokenizer.model'}`)
      expect(tokenizer?.sources[0]).toMatchObject({
        repo: entry.tokenizer.repo,
        path: entry.tokenizer.path,
        revision: entry.tokenizer.revision,
      })
    }
  })

  it("a config the release does not ship is a usage error (CONFIG_UNKNOWN) listing the release's configs", () => {
    const caught = (f: () => unknown): PocketTtsError => {
      try {
        f()
      } catch (error) {
        if (error instanceof PocketTtsError) return error
        throw error
      }
      throw new Error('expected an error')
    }
    const bad = caught(() => planDownload({upstream: '4.0.1', language: 'klingon', voices: []}))
    expect(bad.code).toBe('CONFIG_UNKNOWN')
    expect(bad.exitCode).toBe(2)
    expect(bad.details['configs']).toEqual(Object.keys(CONFIGS_4_0_1))
    expect(bad.hint).toContain('english_2026-10')
    expect(bad.hint).toContain('dutch_24l')
    // a 4.0.1-only name under 2.1.0
    const old = caught(() => planDownload({upstream: '2.1.0', language: 'english_2026-10', voices: []}))
    expect(old.code).toBe('CONFIG_UNKNOWN')
    expect(old.details['configs']).toEqual([...languages])
  })
})

describe('downloadModel of 4.0.1 configs against a local hub', () => {
  it('downloads and locks the tokenizer.json like the rest, records the release per entry, and verifies on a second run', async () => {
    const out = tempOut()
    const events: DownloadEvent[] = []
    const result = await downloadModel({
      endpoint: hub.url,
      out,
      upstream: '4.0.1',
      language: 'english',
      allowNoCloning: true,
      onEvent: (e) => events.push(e),
    })
    expect(result.upstream).toBe('4.0.1')
    expect(result.config).toEqual({file: '4.0.1/english/config.yaml', status: 'written'})
    expect(events.some((e) => e.type === 'notice' && e.message.includes('config.yaml'))).toBe(false)
    expect(result.files.map((f) => [f.file, f.status, f.upstream])).toEqual([
      ['4.0.1/english/model.safetensors', 'downloaded', '4.0.1'],
      ['4.0.1/english/tokenizer.json', 'downloaded', '4.0.1'],
      ['4.0.1/english/voices/alba.safetensors', 'downloaded', '4.0.1'],
    ])
    expect(readFileSync(join(out, '4.0.1/english/tokenizer.json')).equals(files.englishTokenizer)).toBe(true)
    const lock = readLock(out)
    expect(lock.files.find((f) => f.file === '4.0.1/english/tokenizer.json')).toEqual({
      file: '4.0.1/english/tokenizer.json',
      repo: UNGATED_REPO,
      revision: english4.tokenizer.revision,
      commit: english4.tokenizer.revision,
      path: english4.tokenizer.path,
      size: files.englishTokenizer.length,
      sha256: sha(files.englishTokenizer),
      url: `${hub.url}/${UNGATED_REPO}/resolve/${english4.tokenizer.revision}/${english4.tokenizer.path}`,
      upstream: '4.0.1',
    })
    expect(lock.files.find((f) => f.file === '4.0.1/english/model.safetensors')?.sha256).toBe(sha(files.englishModel))
    expect(lock.files.every((f) => f.upstream === '4.0.1')).toBe(true)
    expect(lock.generated.map((g) => [g.file, g.from, g.upstream])).toEqual([
      ['4.0.1/english/config.yaml', 'catalogue:4.0.1/english', '4.0.1'],
    ])

    const again = await downloadModel({endpoint: hub.url, out, upstream: '4.0.1', language: 'english', allowNoCloning: true})
    expect(again.files.map((f) => f.status)).toEqual(['verified', 'verified', 'verified'])
    expect(again.config.status).toBe('verified')
    expect(again.downloadedBytes).toBe(0)

    // a changed tokenizer.json is named, never re-downloaded
    writeFileSync(join(out, '4.0.1/english/tokenizer.json'), '{}')
    const broken = await downloadModel({
      endpoint: hub.url,
      out,
      upstream: '4.0.1',
      language: 'english',
      allowNoCloning: true,
      mode: 'verify-only',
    }).catch((e: unknown) => e)
    expect((broken as PocketTtsError).code).toBe('LOCK_MISMATCH')
    expect((broken as PocketTtsError).message).toContain('4.0.1/english/tokenizer.json')
  })

  it('dutch (4.0.1 only) defaults to its voice daan', async () => {
    const out = tempOut()
    const result = await downloadModel({endpoint: hub.url, out, upstream: '4.0.1', language: 'dutch', allowNoCloning: true})
    expect(result.files.map((f) => f.file)).toEqual([
      '4.0.1/dutch/model.safetensors',
      '4.0.1/dutch/tokenizer.json',
      '4.0.1/dutch/voices/daan.safetensors',
    ])
    expect(readFileSync(join(out, '4.0.1/dutch/voices/daan.safetensors')).equals(files.daan)).toBe(true)
  })

  it('reads a lock written before releases were recorded as 2.1.0', async () => {
    const out = tempOut()
    const path = join(out, 'pockettts.lock.json')
    const entry = {
      file: 'english/tokenizer.model',
      repo: UNGATED_REPO,
      revision: 'r',
      commit: 'c',
      path: 'p',
      size: 1,
      sha256: '0'.repeat(64),
      url: 'u',
    }
    writeFileSync(
      path,
      JSON.stringify({
        format: 'pockettts-lock/1',
        files: [entry],
        generated: [{file: 'english/config.yaml', size: 1, sha256: '1'.repeat(64), from: 'catalogue:english'}],
      }),
    )
    const lock = await readLockFile({path})
    expect(lock?.files[0]?.upstream).toBe('2.1.0')
    expect(lock?.generated[0]?.upstream).toBe('2.1.0')
    writeFileSync(path, JSON.stringify({format: 'pockettts-lock/1', files: [{...entry, upstream: '9.9.9'}]}))
    await expect(readLockFile({path})).rejects.toMatchObject({code: 'LOCK_INVALID'})
  })
})
