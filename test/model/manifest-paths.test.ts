import {createHash} from 'node:crypto'
import {cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {create} from 'tar'
import {describe, expect, it} from 'vitest'
import {embeddedFixtureDir, embeddedModelDir} from '../../src/config/project-paths.js'
import {PocketTtsError} from '../../src/errors/index.js'
import {confinedPathProblem, resolveConfinedPath} from '../../src/fs/confined-path.js'
import {verifyManifest} from '../../src/hub/index.js'
import {readManifest} from '../../src/model/read-manifest.js'
import {runCli} from '../helpers/cli.js'

const temp = (): string => mkdtempSync(join(tmpdir(), 'pockettts-paths-'))
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

/** A copy of the embedded export whose manifest.json is rewritten by `edit`. */
function exportWith(edit: (manifest: Record<string, unknown>, dir: string) => void): string {
  const dir = join(temp(), 'model')
  cpSync(embeddedModelDir(), dir, {recursive: true})
  const path = join(dir, 'manifest.json')
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>
  edit(manifest, dir)
  writeFileSync(path, JSON.stringify(manifest, null, 1))
  return dir
}

const PASSWD = '/etc/passwd'
const passwdEntry = (path: string) => {
  const bytes = readFileSync(PASSWD)
  return {path, sha256: sha256(bytes), size: bytes.length}
}

describe('file names from untrusted input stay inside their folder (src/fs/confined-path.ts)', () => {
  it('the rule: relative names with / only; no .., no absolute or drive paths, no backslash, no NUL', () => {
    for (const ok of ['a.onnx', 'golden/reference/x.npy', './a', 'a..b']) expect(confinedPathProblem(ok), ok).toBeUndefined()
    for (const bad of ['', '../x', 'a/../../x', '/etc/passwd', 'C:/x', 'c:x', 'a\\..\\x', 'a\0b', '..'])
      expect(confinedPathProblem(bad), bad).toBeDefined()
    const root = temp()
    writeFileSync(join(root, 'outside.txt'), 'x')
    mkdirSync(join(root, 'folder'))
    symlinkSync('../outside.txt', join(root, 'folder', 'link'))
    expect(() => resolveConfinedPath({root: join(root, 'folder'), path: 'link', namedBy: 'test'})).toThrow(/symbolic link/)
  })

  it.each([
    [
      'a ../ entry in files',
      (m: Record<string, unknown>) => (m['files'] as unknown[]).push(passwdEntry('../../../../etc/passwd')),
      '../../../../etc/passwd',
    ],
    ['an absolute entry in files', (m: Record<string, unknown>) => (m['files'] as unknown[]).push(passwdEntry(PASSWD)), PASSWD],
    [
      'an absolute graph file',
      (m: Record<string, unknown>) => ((m['graphs'] as Record<string, Record<string, unknown>>)['flow_lm_flow']!['file'] = PASSWD),
      PASSWD,
    ],
    ['a ../ golden', (m: Record<string, unknown>) => ((m['golden'] as Record<string, unknown>)['path'] = '../golden'), '../golden'],
    [
      'a ../ voice',
      (m: Record<string, unknown>) => ((m['voices'] as Array<Record<string, unknown>>)[0]!['path'] = '../voice.safetensors'),
      '../voice.safetensors',
    ],
  ])('model verify refuses a manifest with %s: UNSAFE_PATH, exit 2, before reading it', async (_what, edit, named) => {
    const dir = exportWith(edit)
    const r = await runCli(['model', 'verify', dir, '--json'])
    expect(r.exitCode, r.stdout + r.stderr).toBe(2)
    const error = (JSON.parse(r.stdout) as {error: {code: string; message: string}}).error
    expect(error.code).toBe('UNSAFE_PATH')
    expect(error.message).toContain(JSON.stringify(named))
  })

  it('a file that is a symlink leading out of the folder is refused too (readManifest)', async () => {
    const outside = join(temp(), 'tokenizer.model')
    const dir = exportWith((_m, d) => {
      cpSync(join(d, 'tokenizer.model'), outside)
      rmSync(join(d, 'tokenizer.model'))
      symlinkSync(outside, join(d, 'tokenizer.model'))
    })
    const error = await readManifest({dir}).catch((e: unknown) => e)
    expect((error as PocketTtsError).code).toBe('UNSAFE_PATH')
    expect((error as PocketTtsError).message).toContain('symbolic link')
  })

  it('an export from before the embedded golden (check sets in checks/) is refused: export it again', async () => {
    const dir = exportWith((m) => {
      delete m['golden']
      const graphs = m['graphs'] as Record<string, {check: Record<string, unknown>}>
      graphs['text_conditioner']!.check['cases'] = [{name: 'reference_text', inputs: {}, outputs: {}}]
    })
    const error = await readManifest({dir}).catch((e: unknown) => e)
    expect((error as PocketTtsError).code).toBe('MANIFEST_FORMAT')
    expect((error as PocketTtsError).message).toContain('older exporter')
  })

  it('synth --model refuses such a model folder and writes no audio', async () => {
    const dir = exportWith((m) => (m['files'] as unknown[]).push(passwdEntry('../../../../etc/passwd')))
    const out = join(temp(), 'out.wav')
    const r = await runCli(['synth', 'Hi.', '--model', dir, '--out', out])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('Error [UNSAFE_PATH]')
    expect(existsSync(out)).toBe(false)
  })

  it('model export refuses a source whose config.yaml names a file outside the folder, creating nothing', async () => {
    const from = join(temp(), 'tiny')
    cpSync(embeddedFixtureDir(), from, {recursive: true})
    const config = readFileSync(join(from, 'config.yaml'), 'utf8')
    expect(config).toContain('tokenizer_path: tokenizer.model')
    writeFileSync(join(from, 'config.yaml'), config.replace('tokenizer_path: tokenizer.model', `tokenizer_path: ${PASSWD}`))
    const out = join(temp(), 'onnx')
    const r = await runCli(['model', 'export', '--from', from, '--out', out, '--json'])
    expect(r.exitCode).toBe(2)
    expect((JSON.parse(r.stdout) as {error: {code: string}}).error.code).toBe('UNSAFE_PATH')
    expect(existsSync(out)).toBe(false)
  })

  it('model download --bundle refuses a bundle whose manifest names a file outside it, unpacking nothing', async () => {
    const root = temp()
    const work = join(root, 'work', 'english-onnx')
    mkdirSync(work, {recursive: true})
    writeFileSync(join(root, 'work', 'secret.txt'), 'outside')
    writeFileSync(
      join(work, 'manifest.json'),
      JSON.stringify({files: [{path: '../secret.txt', sha256: sha256(Buffer.from('outside')), size: 7}]}),
    )
    const file = join(root, 'evil.tar.gz')
    await create({file, gzip: true, cwd: join(root, 'work')}, ['english-onnx'])
    const out = join(root, 'models')
    const r = await runCli(['model', 'download', '--bundle', file, '--out', out, '--json'])
    expect(r.exitCode).toBe(2)
    expect((JSON.parse(r.stdout) as {error: {code: string; message: string}}).error).toMatchObject({code: 'UNSAFE_PATH'})
    expect(existsSync(join(out, 'english-onnx'))).toBe(false)
    expect(readdirSync(out).filter((f) => !f.startsWith('.') && f !== 'pockettts.lock.json')).toEqual([])
    // The library call says the same, before hashing anything.
    const direct = await verifyManifest({folder: work}).catch((e: unknown) => e)
    expect((direct as PocketTtsError).code).toBe('UNSAFE_PATH')
  })
})
