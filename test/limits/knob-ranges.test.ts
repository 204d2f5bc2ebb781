import {existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {availableParallelism, tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'
import {resolveConfig} from '../../src/config/index.js'
import {ConfigError} from '../../src/errors/index.js'
import {checkKnob, knobTableMarkdown} from '../../src/limits/knob-ranges.js'
import {runCli} from '../helpers/cli.js'

describe('the knob range table (src/limits/knob-ranges.ts)', () => {
  it.each([
    ['temperature', '1e308'],
    ['temperature', '0x10'],
    ['temperature', 'Infinity'],
    ['temperature', 'NaN'],
    ['temperature', ''],
    ['temperature', '-1'],
    ['maxTokens', '1000000'],
    ['maxTokens', '99999999999999999999'],
    ['maxTokens', '1.5'],
    ['maxTokens', '0'],
    ['lsdDecodeSteps', '100000'],
    ['threads', String(availableParallelism() + 1)],
    ['threads', '10000'],
    ['seed', String(2 ** 32)],
    ['workers', '100000'],
    ['queue', '1e6'],
    ['requestTimeout', '0'],
    ['maxUploadMb', '1e9'],
  ] as const)('refuses %s = %s, naming the value and the range', (knob, raw) => {
    const check = checkKnob(knob, raw)
    expect(check.ok).toBe(false)
    if (!check.ok) {
      expect(check.reason).toContain(JSON.stringify(raw))
      expect(check.reason).toMatch(/expected a (whole )?number (from|>)/)
    }
  })

  it('accepts in-range decimal text and JSON numbers, and refuses non-finite JSON numbers', () => {
    expect(checkKnob('temperature', '0.7')).toEqual({ok: true, value: 0.7})
    expect(checkKnob('temperature', 5)).toEqual({ok: true, value: 5})
    expect(checkKnob('maxTokens', ' 50 ')).toEqual({ok: true, value: 50})
    expect(checkKnob('threads', availableParallelism())).toEqual({ok: true, value: availableParallelism()})
    expect(checkKnob('eosThreshold', '1e9')).toEqual({ok: true, value: 1e9})
    expect(checkKnob('temperature', Number.POSITIVE_INFINITY).ok).toBe(false)
    expect(checkKnob('temperature', Number.NaN).ok).toBe(false)
    expect(checkKnob('maxTokens', true).ok).toBe(false)
  })

  it('docs/limits-and-deployment.md prints exactly the table of the code', () => {
    const doc = readFileSync(join(packageRoot(), 'docs', 'limits-and-deployment.md'), 'utf8')
    expect(doc).toContain(knobTableMarkdown())
  })
})

describe('numeric flags are checked before any work, with the value and the range in the error', () => {
  it.each([
    [['--threads', '10000'], '--threads: expected a whole number from 1 to'],
    [['--max-tokens', '1000000'], '--max-tokens: expected a whole number from 1 to 500 tokens, got "1000000"'],
    [['--max-tokens', '99999999999999999999'], 'got "99999999999999999999"'],
    [['--max-tokens', 'many'], '--max-tokens: expected a whole number from 1 to 500 tokens, got "many"'],
    [['--lsd-decode-steps', '100000'], '--lsd-decode-steps: expected a whole number from 1 to 64, got "100000"'],
    [['--temperature', '1e308'], '--temperature: expected a number from 0 to 5, got "1e308"'],
    [['--temperature', '0x10'], '--temperature: expected a number from 0 to 5, got "0x10"'],
    [['--noise-clamp', '0'], '--noise-clamp: expected a number > 0 and <= 100, got "0"'],
    [['--seed', '-1'], '--seed: expected a whole number from 0 to 4294967295, got "-1"'],
  ])('synth %j exits 2 with INVALID_FLAG_VALUE and writes nothing', async (args, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'pockettts-knobs-'))
    const r = await runCli(['synth', 'Hi there.', '--out', join(dir, 'out.wav'), ...args])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('Error [INVALID_FLAG_VALUE]')
    expect(r.stderr).toContain(message)
    expect(r.stderr).not.toContain('Parsing --')
    expect(readdirSync(dir)).toEqual([])
  })

  it.each([
    [['--workers', '100000'], '--workers: expected a whole number from 1 to 64'],
    [['--queue', '99999'], '--queue: expected a whole number from 0 to 1024'],
    [['--request-timeout', '0'], '--request-timeout: expected a number > 0 and <= 3600 s'],
    [['--max-upload-mb', '1e9'], '--max-upload-mb: expected a number > 0 and <= 256 MiB'],
    [['--voice-cache', '100000'], '--voice-cache: expected a whole number from 0 to 256'],
    [['--port', '70000'], '--port: expected a whole number from 0 to 65535'],
  ])('serve %j exits 2 before listening', async (args, message) => {
    const r = await runCli(['serve', ...args, '--json'], {timeoutMs: 60_000})
    expect(r.exitCode).toBe(2)
    expect((JSON.parse(r.stdout) as {error: {code: string; message: string}}).error).toMatchObject({code: 'INVALID_FLAG_VALUE'})
    expect(r.stdout).toContain(message)
  })

  it('the same range applies to POCKETTTS_THREADS and to a config file', async () => {
    const env = await resolveConfig({env: {POCKETTTS_THREADS: '10000'}}).catch((e: unknown) => e)
    expect(env).toBeInstanceOf(ConfigError)
    expect((env as ConfigError).code).toBe('CONFIG_INVALID_VALUE')
    expect((env as ConfigError).message).toContain('expected a whole number from 1 to')
    expect((env as ConfigError).message).toContain('10000')
    const dir = mkdtempSync(join(tmpdir(), 'pockettts-knobs-'))
    const file = join(dir, 'config.yaml')
    writeFileSync(file, 'threads: 0x10\npythonTimeout: 1e308\n')
    const fromFile = await resolveConfig({env: {}, configFile: file}).catch((e: unknown) => e)
    expect((fromFile as ConfigError).code).toBe('CONFIG_INVALID_VALUE')
    expect((fromFile as ConfigError).hint).toContain(file)
    const r = await runCli(['synth', 'Hi.', '--out', join(dir, 'x.wav')], {env: {POCKETTTS_CONFIG: file}})
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('CONFIG_INVALID_VALUE')
    expect(existsSync(join(dir, 'x.wav'))).toBe(false)
  })
})
