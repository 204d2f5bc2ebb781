import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {create} from 'tar'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {PocketTtsError} from '../../src/errors/index.js'
import {installBundle, packBundle, unpackBundle} from '../../src/hub/index.js'
import {startLocalHub, type LocalHub} from '../helpers/local-hub.js'

const sha = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex')

function temp(): string {
  return mkdtempSync(join(tmpdir(), 'pockettts-bundle-'))
}

/** An exported-model-like folder: two graphs and a manifest listing them with sha256s. */
function exportedFolder(root: string, name = 'english-onnx'): string {
  const dir = join(root, name)
  mkdirSync(join(dir, 'graphs'), {recursive: true})
  const a = Buffer.from('graph a bytes')
  const b = Buffer.from('graph b bytes, longer')
  writeFileSync(join(dir, 'graphs', 'flow_lm_main.onnx'), a)
  writeFileSync(join(dir, 'graphs', 'mimi_decoder.onnx'), b)
  writeFileSync(join(dir, 'tokenizer.model'), 'tok')
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      format: 'x',
      graphs: {
        flow_lm_main: {file: 'graphs/flow_lm_main.onnx', sha256: sha(a)},
        mimi_decoder: {file: 'graphs/mimi_decoder.onnx', sha256: sha(b)},
      },
      tokenizer: {path: 'tokenizer.model', sha256: sha('tok')},
    }),
  )
  return dir
}

async function failure(promise: Promise<unknown>): Promise<PocketTtsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(error instanceof PocketTtsError)) throw new Error(`expected a PocketTtsError, got ${String(error)}`)
  return error
}

describe('model bundles', () => {
  let hub: LocalHub
  let bundleBytes: Buffer
  let bundleSha: string

  beforeAll(async () => {
    const root = temp()
    const packed = await packBundle({dir: exportedFolder(root), out: join(root, 'dist', 'english-onnx.tar.gz')})
    bundleBytes = readFileSync(packed.file)
    bundleSha = packed.sha256
    hub = await startLocalHub({repos: {'org/bundles': {revisions: {main: 'b'.repeat(40)}, files: {'english-onnx.tar.gz': bundleBytes}}}})
  })
  afterAll(async () => hub.close())

  it('packs a folder checked against its manifest, and unpacks it verified', async () => {
    const root = temp()
    const packed = await packBundle({dir: exportedFolder(root), out: join(root, 'b.tar.gz')})
    expect(packed).toMatchObject({folder: 'english-onnx', files: 4, verified: 3, sha256: sha(readFileSync(packed.file))})
    const out = join(root, 'models')
    const installed = await installBundle({source: packed.file, sha256: packed.sha256, out})
    expect(installed).toMatchObject({status: 'unpacked', folder: join(out, 'english-onnx'), verified: 3})
    expect(readFileSync(join(out, 'english-onnx', 'graphs', 'mimi_decoder.onnx'), 'utf8')).toBe('graph b bytes, longer')
    expect(readdirSync(out).sort()).toEqual(['english-onnx', 'pockettts.lock.json'])
    const lock = JSON.parse(readFileSync(join(out, 'pockettts.lock.json'), 'utf8')) as {bundles: unknown[]}
    expect(lock.bundles).toEqual([{folder: 'english-onnx', source: packed.file, size: packed.size, sha256: packed.sha256}])
    // Again: the lock knows it, the folder is verified, nothing is unpacked.
    expect((await installBundle({source: packed.file, out})).status).toBe('verified')
    writeFileSync(join(out, 'english-onnx', 'graphs', 'flow_lm_main.onnx'), 'tampered')
    const tampered = await failure(installBundle({source: packed.file, out, mode: 'verify-only'}))
    expect(tampered.code).toBe('LOCK_MISMATCH')
    expect(tampered.message).toContain('english-onnx/graphs/flow_lm_main.onnx (mismatch)')
  })

  it('downloads a bundle from a URL, checking --sha256', async () => {
    const out = temp()
    const url = `${hub.url}/org/bundles/resolve/main/english-onnx.tar.gz`
    const installed = await installBundle({source: url, sha256: bundleSha, out, retry: {attempts: 2, baseDelayMs: 1}})
    expect(installed).toMatchObject({status: 'unpacked', sha256: bundleSha, verified: 3})
    expect(readdirSync(out).sort()).toEqual(['english-onnx', 'pockettts.lock.json'])
    const wrong = await failure(installBundle({source: url, sha256: 'f'.repeat(64), out: temp(), retry: {attempts: 1}}))
    expect(wrong.code).toBe('BUNDLE_CHECKSUM_MISMATCH')
    expect((await failure(installBundle({source: url, out: temp()}))).code).toBe('BUNDLE_SHA256_REQUIRED')
  })

  it('refuses to pack a folder that does not match its manifest, or holds a symbolic link', async () => {
    const root = temp()
    const dir = exportedFolder(root)
    writeFileSync(join(dir, 'graphs', 'flow_lm_main.onnx'), 'changed')
    const mismatch = await failure(packBundle({dir, out: join(root, 'b.tar.gz')}))
    expect(mismatch.code).toBe('MANIFEST_MISMATCH')
    expect(mismatch.message).toContain('graphs/flow_lm_main.onnx (mismatch)')
    expect(existsSync(join(root, 'b.tar.gz'))).toBe(false)
    const other = exportedFolder(temp())
    symlinkSync('/etc/passwd', join(other, 'passwd'))
    expect((await failure(packBundle({dir: other, out: join(root, 'c.tar.gz')}))).code).toBe('BUNDLE_UNSUPPORTED_ENTRY')
  })

  /** A hand-made archive with `entries` (paths relative to `cwd`, kept verbatim). */
  async function craftedBundle(entries: string[], setUp: (cwd: string, root: string) => void): Promise<{file: string; root: string}> {
    const root = temp()
    const cwd = join(root, 'work', 'english-onnx')
    mkdirSync(cwd, {recursive: true})
    setUp(cwd, root)
    const file = join(root, 'evil.tar.gz')
    await create({file, gzip: true, cwd: join(root, 'work'), preservePaths: true}, entries)
    return {file, root}
  }

  it.each([
    ['a ../ entry', ['english-onnx/manifest.json', 'english-onnx/../../escaped.txt'], 'leaves the folder'],
    ['an absolute path', ['english-onnx/manifest.json', '/etc/hostname'], 'absolute path /etc/hostname'],
    ['a symbolic link pointing outside', ['english-onnx/manifest.json', 'english-onnx/link'], 'points outside the folder'],
    ['two top folders', ['english-onnx/manifest.json', 'other'], 'one top folder'],
  ])('refuses a bundle with %s and writes nothing', async (_what, entries, reason) => {
    const {file, root} = await craftedBundle(entries, (cwd, root) => {
      writeFileSync(join(cwd, 'manifest.json'), '{}')
      writeFileSync(join(root, 'escaped.txt'), 'outside')
      mkdirSync(join(root, 'work', 'other'))
      symlinkSync('../../../outside', join(cwd, 'link'))
    })
    const out = join(root, 'models', 'sub')
    const error = await failure(unpackBundle({file, out}))
    expect(error.code).toBe('BUNDLE_UNSAFE')
    expect(error.message).toContain(reason)
    expect(existsSync(out)).toBe(false)
    expect(existsSync(join(root, 'models'))).toBe(false)
  })

  it('refuses a bundle whose files do not match its manifest, leaving no folder', async () => {
    const {file, root} = await craftedBundle(['english-onnx'], (cwd) => {
      writeFileSync(join(cwd, 'a.onnx'), 'real')
      writeFileSync(join(cwd, 'manifest.json'), JSON.stringify({graphs: {a: {file: 'a.onnx', sha256: sha('other')}}}))
    })
    const out = join(root, 'models')
    const error = await failure(unpackBundle({file, out}))
    expect(error.code).toBe('MANIFEST_MISMATCH')
    expect(readdirSync(out)).toEqual([])
    const noManifest = await craftedBundle(['english-onnx'], (cwd) => writeFileSync(join(cwd, 'a.onnx'), 'x'))
    expect((await failure(unpackBundle({file: noManifest.file, out: join(noManifest.root, 'm')}))).code).toBe('MANIFEST_MISSING')
  })
})
