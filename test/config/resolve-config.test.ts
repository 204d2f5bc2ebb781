import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {resolveConfig} from '../../src/config/index.js'
import {ConfigError} from '../../src/errors/index.js'

const dir = mkdtempSync(join(tmpdir(), 'pockettts-config-'))
const yamlFile = join(dir, 'config.yaml')
writeFileSync(yamlFile, 'python: /from/file/python\nmodelsDir: file-models\npythonTimeout: 3\n')

describe('resolveConfig precedence', () => {
  it('uses defaults when nothing is given', async () => {
    const r = await resolveConfig({env: {}})
    expect(r.config.modelsDir).toBe('models')
    expect(r.config.python).toBeUndefined()
    expect(r.sources.modelsDir).toBe('default')
  })

  it('config file beats defaults', async () => {
    const r = await resolveConfig({env: {}, configFile: yamlFile})
    expect(r.config).toMatchObject({python: '/from/file/python', modelsDir: 'file-models', pythonTimeout: 3})
    expect(r.sources.python).toBe('file')
  })

  it('environment beats the config file', async () => {
    const r = await resolveConfig({env: {POCKETTTS_PYTHON: '/from/env/python', POCKETTTS_PYTHON_TIMEOUT: '5'}, configFile: yamlFile})
    expect(r.config.python).toBe('/from/env/python')
    expect(r.config.pythonTimeout).toBe(5)
    expect(r.config.modelsDir).toBe('file-models')
    expect(r.origins.python).toBe('POCKETTTS_PYTHON')
  })

  it('flags beat the environment', async () => {
    const r = await resolveConfig({flags: {python: '/from/flag'}, env: {POCKETTTS_PYTHON: '/from/env/python'}, configFile: yamlFile})
    expect(r.config.python).toBe('/from/flag')
    expect(r.origins.python).toBe('--python')
  })

  it('reads POCKETTTS_CONFIG when no file is passed', async () => {
    const r = await resolveConfig({env: {POCKETTTS_CONFIG: yamlFile}})
    expect(r.config.modelsDir).toBe('file-models')
  })

  it('reads voiceAliases as a mapping from a file and as ALIAS=VOICE text from the environment', async () => {
    const f = join(dir, 'aliases.yaml')
    writeFileSync(f, 'voiceAliases:\n  alloy: alba\n  echo: marius\n')
    expect((await resolveConfig({env: {}, configFile: f})).config.voiceAliases).toEqual({alloy: 'alba', echo: 'marius'})
    expect((await resolveConfig({env: {POCKETTTS_VOICE_ALIASES: 'nova=fantine'}, configFile: f})).config.voiceAliases).toEqual({
      nova: 'fantine',
    })
    const bad = await resolveConfig({env: {POCKETTTS_VOICE_ALIASES: 'nova'}}).catch((e: unknown) => e)
    expect((bad as ConfigError).code).toBe('CONFIG_INVALID_VALUE')
    expect((bad as ConfigError).message).toContain('ALIAS=VOICE')
  })

  it('reads JSON config files', async () => {
    const f = join(dir, 'c.json')
    writeFileSync(f, JSON.stringify({modelsDir: 'json-models'}))
    expect((await resolveConfig({env: {}, configFile: f})).config.modelsDir).toBe('json-models')
  })
})

describe('resolveConfig errors', () => {
  it('an unknown key in a config file is an error that names the key', async () => {
    const f = join(dir, 'bad.yaml')
    writeFileSync(f, 'modelsDir: x\npythn: /typo\n')
    const error = await resolveConfig({env: {}, configFile: f}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).code).toBe('CONFIG_UNKNOWN_KEY')
    expect((error as ConfigError).message).toContain('"pythn"')
    expect((error as ConfigError).hint).toContain('python')
  })

  it('an invalid value names where it came from', async () => {
    const error = await resolveConfig({env: {POCKETTTS_THREADS: 'many'}}).catch((e: unknown) => e)
    expect((error as ConfigError).code).toBe('CONFIG_INVALID_VALUE')
    expect((error as ConfigError).hint).toContain('POCKETTTS_THREADS')
  })

  it('a missing config file is an error, not a silent default', async () => {
    const error = await resolveConfig({env: {}, configFile: join(dir, 'nope.yaml')}).catch((e: unknown) => e)
    expect((error as ConfigError).code).toBe('CONFIG_FILE_UNREADABLE')
  })

  it('a config file that is not a mapping is refused', async () => {
    const f = join(dir, 'list.yaml')
    writeFileSync(f, '- a\n- b\n')
    const error = await resolveConfig({env: {}, configFile: f}).catch((e: unknown) => e)
    expect((error as ConfigError).code).toBe('CONFIG_FILE_INVALID')
  })
})
