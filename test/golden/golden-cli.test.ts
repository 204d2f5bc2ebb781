import {cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {embeddedFixtureDir, goldenDir} from '../../src/config/project-paths.js'
import {runCli} from '../helpers/cli.js'
import {reproductionProblems} from '../helpers/reproduction.js'

const TINY = embeddedFixtureDir()
const tmp = (): string => mkdtempSync(join(tmpdir(), 'pockettts-golden-'))
const manifest = (dir: string): {chunks: unknown[]; tensors: Record<string, unknown>} => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))

describe('pockettts golden dump: bad input gives a typed error, never a traceback', () => {
  it('empty text is EMPTY_TEXT (exit 2)', async () => {
    const r = await runCli(['golden', 'dump', '--from', TINY, '--text', '   ', '--seed', '1', '--out', join(tmp(), 'o')])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('Error [EMPTY_TEXT]')
    expect(r.stderr).not.toContain('Traceback')
  })

  it('a missing voice file is VOICE_NOT_FOUND (exit 2)', async () => {
    const r = await runCli(['golden', 'dump', '--from', TINY, '--text', 'Hi.', '--voice', join(tmp(), 'nope.safetensors'), '--seed', '1', '--out', join(tmp(), 'o')])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('Error [VOICE_NOT_FOUND]')
  })

  it('a config with an unknown key is CONFIG_UNKNOWN_KEY naming the key (exit 3), also as --json', async () => {
    const model = join(tmp(), 'model')
    cpSync(TINY, model, {recursive: true})
    const config = join(model, 'config.yaml')
    writeFileSync(config, readFileSync(config, 'utf8').replace('\n  flow:\n', '\n  flow_typo: 1\n  flow:\n'))
    const r = await runCli(['golden', 'dump', '--from', model, '--text', 'Hi.', '--seed', '1', '--out', join(tmp(), 'o'), '--json'])
    expect(r.exitCode).toBe(3)
    const body = JSON.parse(r.stdout) as {error: {code: string; message: string; hint: string}}
    expect(body.error.code).toBe('CONFIG_UNKNOWN_KEY')
    expect(body.error.message).toContain('"flow_lm.flow_typo"')
    expect(r.stderr).not.toContain('Traceback')
  })

  it('an interpreter without the tooling is PYTHON_MODULE_MISSING with the set-up command (exit 3)', async () => {
    const bare = join(tmp(), 'python-without-torch')
    writeFileSync(bare, `#!/bin/sh\nexec python3 -S "$@"\n`, {mode: 0o755})
    const r = await runCli(['golden', 'dump', '--from', TINY, '--text', 'Hi.', '--seed', '1', '--out', join(tmp(), 'o'), '--python', bare])
    expect(r.exitCode).toBe(3)
    expect(r.stderr).toContain('Error [PYTHON_MODULE_MISSING]')
    expect(r.stderr).toContain('torch')
    expect(r.stderr).toContain('npm run setup:python')
  })

  it('a folder that is not a model is NOT_A_MODEL_FOLDER, and a bad number a usage error', async () => {
    const notModel = await runCli(['golden', 'dump', '--from', tmp(), '--text', 'Hi.', '--seed', '1', '--out', join(tmp(), 'o')])
    expect(notModel.exitCode).toBe(3)
    expect(notModel.stderr).toContain('Error [NOT_A_MODEL_FOLDER]')
    const badNumber = await runCli(['golden', 'dump', '--from', TINY, '--text', 'Hi.', '--seed', '1', '--temperature', 'warm', '--out', join(tmp(), 'o')])
    expect(badNumber.exitCode).toBe(2)
    expect(badNumber.stderr).toContain('Error [INVALID_FLAG_VALUE]')
  })
})

describe('pockettts golden dump / dump-voice: happy paths', () => {
  it('records the committed `short` golden again, tensor for tensor (within the cross-CPU tolerance)', async () => {
    const out = join(tmp(), 'short')
    const r = await runCli(['golden', 'dump', '--from', TINY, '--text', 'Yes, of course.', '--seed', '5', '--out', out, '--json'])
    expect(r.exitCode).toBe(0)
    const result = JSON.parse(r.stdout) as {chunks: Array<{nTokens: number; eosStep: number | null; frames: number}>}
    expect(result.chunks).toHaveLength(1)
    expect(r.stderr).toContain('chunk')
    const committed = join(goldenDir(), 'short')
    expect(manifest(out).chunks).toEqual(manifest(committed).chunks)
    const files = readdirSync(committed).filter((f) => f.endsWith('.npy'))
    expect(files.length).toBe(12)
    expect(await reproductionProblems(files.map((file) => [join(out, file), join(committed, file), file] as const))).toEqual([])
  })

  it('records the committed voice golden again (within the cross-CPU tolerance)', async () => {
    const out = join(tmp(), 'voice')
    const r = await runCli(['golden', 'dump-voice', '--from', TINY, '--prompt', join(TINY, 'voice_prompt.wav'), '--out', out])
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toContain('51 positions')
    const files = ['audio.npy', 'mimi_latent.npy', 'conditioning.npy', 'voice.safetensors']
    expect(await reproductionProblems(files.map((file) => [join(out, file), join(goldenDir(), 'voice', file), file] as const))).toEqual([])
  })
})
