import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {errorToJson, ExitCode, formatError, PrerequisiteError, UsageError} from '../../src/errors/index.js'
import {runCli} from '../helpers/cli.js'

describe('formatError', () => {
  const error = new PrerequisiteError({
    code: 'PYTHON_NOT_FOUND',
    message: 'No Python here.',
    hint: 'Run setup.',
    cause: new Error('root cause'),
  })

  it('prints code, message and fix without a stack by default', () => {
    const text = formatError({error})
    expect(text).toBe('Error [PYTHON_NOT_FOUND]: No Python here.\nFix: Run setup.')
    expect(text).not.toContain(' at ')
  })

  it('prints the stack and the cause chain when verbose', () => {
    const text = formatError({error, verbose: true})
    expect(text).toContain('Caused by: Error: root cause')
    expect(text).toMatch(/\n\s+at /)
  })

  it('unknown errors are INTERNAL and ask for a report', () => {
    expect(formatError({error: new TypeError('boom')})).toMatch(/^Error \[INTERNAL\]: boom\nFix: .*--verbose/)
  })

  it('JSON body carries code, message, hint and exit code', () => {
    expect(errorToJson(new UsageError({code: 'EMPTY_TEXT', message: 'Text is empty.', hint: 'Pass text.'}))).toEqual({
      error: {code: 'EMPTY_TEXT', message: 'Text is empty.', hint: 'Pass text.', exitCode: ExitCode.usage, details: {}},
    })
  })
})

describe('CLI error output', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pockettts-cli-'))
  const bad = join(dir, 'bad.yaml')
  writeFileSync(bad, 'threads: 2\ncolour: blue\n')

  it('prints a one-line error and a fix, no stack, with the error exit code', async () => {
    const r = await runCli(['doctor', '--config', bad])
    expect(r.exitCode).toBe(ExitCode.usage)
    expect(r.stderr).toContain('Error [CONFIG_UNKNOWN_KEY]: Unknown key "colour"')
    expect(r.stderr).toContain('Fix: ')
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('prints the error as JSON on stdout under --json', async () => {
    const r = await runCli(['doctor', '--config', bad, '--json'])
    expect(r.exitCode).toBe(ExitCode.usage)
    const body = JSON.parse(r.stdout) as {error: {code: string; exitCode: number; details: {key: string}}}
    expect(body.error.code).toBe('CONFIG_UNKNOWN_KEY')
    expect(body.error.details.key).toBe('colour')
  })

  it('an unknown flag is a USAGE error with exit code 2', async () => {
    const r = await runCli(['doctor', '--no-such-flag', '--json'])
    expect(r.exitCode).toBe(2)
    expect((JSON.parse(r.stdout) as {error: {code: string}}).error.code).toBe('USAGE')
  })

  it('--verbose adds the stack', async () => {
    const r = await runCli(['doctor', '--config', bad, '--verbose'])
    expect(r.stderr).toMatch(/\n\s+at /)
  })
})
