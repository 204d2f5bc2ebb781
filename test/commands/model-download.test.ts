import {execa} from 'execa'
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {projectVenvPython} from '../../src/config/project-paths.js'
import {UNGATED_REPO} from '../../src/hub/catalogue.js'
import {runCli} from '../helpers/cli.js'
import {oracleFiles, startFakePocketHub, syntheticFiles} from '../helpers/fake-pocket-hub.js'
import {startLocalHub, type LocalHub} from '../helpers/local-hub.js'
import {NEEDS_ORACLE, ORACLE_TINY, skipWithoutOracle} from '../helpers/oracle.js'

const sha = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex')
/** No token or endpoint from the developer's environment leaks into these runs. */
const env = {HF_TOKEN: '', POCKETTTS_HUB_ENDPOINT: '', POCKETTTS_MODELS_DIR: ''}

function temp(): string {
  return mkdtempSync(join(tmpdir(), 'pockettts-cli-hub-'))
}

describe.skipIf(skipWithoutOracle)(`pockettts model download against a local hub serving the oracle ${NEEDS_ORACLE}`, () => {
  let hub: LocalHub
  beforeAll(async () => {
    hub = await startFakePocketHub(oracleFiles())
  })
  afterAll(async () => hub.close())

  it('writes an upstream-format folder that upstream pocket_tts loads strictly; a second run downloads nothing', async () => {
    const out = temp()
    const args = [
      'model',
      'download',
      '--upstream',
      '2.1.0',
      '--endpoint',
      hub.url,
      '--out',
      out,
      '--allow-no-cloning',
      '--config-from',
      join(ORACLE_TINY, 'config.yaml'),
    ]
    const first = await runCli([...args, '--json'], {env})
    expect(first.exitCode, first.stderr).toBe(0)
    const result = JSON.parse(first.stdout) as {
      kind: string
      voiceCloning: boolean
      folder: string
      files: {file: string; status: string; sha256: string}[]
    }
    expect(result).toMatchObject({kind: 'model', voiceCloning: false, folder: join(out, 'english')})
    expect(result.files.map((f) => [f.file, f.status])).toEqual([
      ['english/model.safetensors', 'downloaded'],
      ['english/tokenizer.model', 'downloaded'],
      ['english/voices/alba.safetensors', 'downloaded'],
    ])
    expect(result.files.map((f) => f.sha256)).toEqual(
      ['model.safetensors', 'tokenizer.model', 'voice.safetensors'].map((f) => sha(readFileSync(join(ORACLE_TINY, f)))),
    )

    // Upstream's own loader (strict state dict) takes the folder as it is; the voice state imports too.
    const script = [
      'import json',
      'from pocket_tts import TTSModel',
      "m = TTSModel.load_model(config='config.yaml')",
      "s = m.get_state_for_audio_prompt('voices/alba.safetensors')",
      "print(json.dumps({'sample_rate': m.sample_rate, 'layers': len(m.flow_lm.transformer.layers), 'd_model': m.flow_lm.dim, 'voice_modules': len(s)}))",
    ].join('\n')
    const loaded = await execa(projectVenvPython(), ['-c', script], {cwd: join(out, 'english'), reject: false})
    expect(loaded.exitCode, loaded.stderr).toBe(0)
    const info = JSON.parse(loaded.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>
    expect(info).toMatchObject({sample_rate: 24000, layers: 2, d_model: 64})
    expect(info['voice_modules']).toBeGreaterThan(0)

    const before = hub.requests.length
    const second = await runCli(args, {env})
    expect(second.exitCode, second.stderr).toBe(0)
    expect(second.stdout).toMatch(/verified\s+english\/model\.safetensors/)
    expect(second.stdout).toContain('config.yaml verified; voice cloning: no (predefined voices only)')
    expect(hub.requests.length).toBe(before)
  })

  it('explains the gate (exit 3) and never falls back without --allow-no-cloning', async () => {
    const out = temp()
    const run = await runCli(['model', 'download', '--upstream', '2.1.0', '--endpoint', hub.url, '--out', out], {env})
    expect(run.exitCode).toBe(3)
    expect(run.stderr).toContain('Error [HUB_GATED]: kyutai/pocket-tts is gated')
    expect(run.stderr).toMatch(
      /Fix: Either accept the terms at .* and pass a read token \(--token or HF_TOKEN\), or add --allow-no-cloning/,
    )
    expect(existsSync(join(out, 'english', 'model.safetensors'))).toBe(false)
  })
})

describe('pockettts model download and pack (CLI)', () => {
  let hub: LocalHub
  beforeAll(async () => {
    hub = await startFakePocketHub(syntheticFiles())
  })
  afterAll(async () => hub.close())

  it('--offline without a lock file names the missing lock (exit 3); a bad voice or token is a usage error (exit 2)', async () => {
    const out = temp()
    const offline = await runCli(['model', 'download', '--upstream', '2.1.0', '--offline', '--out', out, '--json'], {env})
    expect(offline.exitCode).toBe(3)
    expect(JSON.parse(offline.stdout)).toMatchObject({error: {code: 'LOCK_MISSING'}})
    const voice = await runCli(['model', 'download', '--upstream', '2.1.0', '--voices', 'alba,nobody', '--out', out], {env})
    expect(voice.exitCode).toBe(2)
    expect(voice.stderr).toContain('Error [VOICE_UNKNOWN]: Unknown predefined voice(s): nobody.')
    const token = await runCli(['model', 'download', '--upstream', '2.1.0', '--endpoint', hub.url, '--out', out], {
      env: {...env, HF_TOKEN: 'not-a-token'},
    })
    expect(token.exitCode).toBe(2)
    expect(token.stderr).toContain('Error [TOKEN_INVALID]')
  })

  it('reports a corrupted local file by name (exit 1)', async () => {
    const out = temp()
    const args = ['model', 'download', '--upstream', '2.1.0', '--endpoint', hub.url, '--out', out, '--allow-no-cloning', '--voices', 'none']
    expect((await runCli(args, {env})).exitCode).toBe(0)
    writeFileSync(join(out, 'english', 'tokenizer.model'), 'not the tokenizer')
    const run = await runCli([...args, '--verify-only'], {env})
    expect(run.exitCode).toBe(1)
    expect(run.stderr).toContain('Error [LOCK_MISMATCH]: 1 file(s) differ from the lock file')
    expect(run.stderr).toContain('english/tokenizer.model (17 bytes')
  })

  it('reports an unreachable hub (exit 3) after --retries', async () => {
    const down = await startLocalHub({repos: {}})
    await down.close()
    const run = await runCli(
      ['model', 'download', '--upstream', '2.1.0', '--endpoint', down.url, '--out', temp(), '--allow-no-cloning', '--retries', '0'],
      {env},
    )
    expect(run.exitCode).toBe(3)
    expect(run.stderr).toContain('Error [HUB_UNREACHABLE]')
  })

  it('packs a folder and unpacks the bundle with --bundle and --sha256', async () => {
    const root = temp()
    const dir = join(root, 'tiny-onnx')
    mkdirSync(dir)
    writeFileSync(join(dir, 'g.onnx'), 'graph')
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({graphs: {g: {file: 'g.onnx', sha256: sha('graph')}}}))
    const pack = await runCli(['model', 'pack', dir, '--out', join(root, 'tiny-onnx.tar.gz'), '--json'], {env})
    expect(pack.exitCode, pack.stderr).toBe(0)
    const packed = JSON.parse(pack.stdout) as {sha256: string; file: string}
    const out = join(root, 'models')
    const unpack = await runCli(['model', 'download', '--bundle', packed.file, '--sha256', packed.sha256, '--out', out], {env})
    expect(unpack.exitCode, unpack.stderr).toBe(0)
    expect(unpack.stdout).toContain(`Unpacked ${join(out, 'tiny-onnx')} (1 file(s) match manifest.json`)
    expect(readFileSync(join(out, 'tiny-onnx', 'g.onnx'), 'utf8')).toBe('graph')
    const wrong = await runCli(['model', 'download', '--bundle', packed.file, '--sha256', '0'.repeat(64), '--out', join(root, 'other')], {
      env,
    })
    expect(wrong.exitCode).toBe(1)
    expect(wrong.stderr).toContain('Error [BUNDLE_CHECKSUM_MISMATCH]')
  })

  it('records where each file came from in the lock file', async () => {
    const out = temp()
    const run = await runCli(
      ['model', 'download', '--upstream', '2.1.0', '--endpoint', hub.url, '--out', out, '--allow-no-cloning', '--json'],
      {env},
    )
    expect(run.exitCode, run.stderr).toBe(0)
    const lock = JSON.parse(readFileSync(join(out, 'pockettts.lock.json'), 'utf8')) as {files: {repo: string; url: string}[]}
    expect(lock.files).toHaveLength(3)
    expect(lock.files.every((f) => f.repo === UNGATED_REPO && f.url.startsWith(`${hub.url}/${UNGATED_REPO}/resolve/`))).toBe(true)
  })
})
