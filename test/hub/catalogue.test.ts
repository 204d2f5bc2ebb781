import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'
import {packageRoot} from '../../src/config/project-paths.js'
import {languageEntry, languages, predefinedVoices, voiceFile, type HubFileRef} from '../../src/hub/index.js'

/** The installed upstream package (the project virtualenv that `npm test` sets up). */
function upstreamPackage(): string {
  const lib = join(packageRoot(), '.venv', 'lib')
  const python = existsSync(lib) ? readdirSync(lib).find((d) => d.startsWith('python')) : undefined
  const dir = python === undefined ? '' : join(lib, python, 'site-packages', 'pocket_tts')
  if (!existsSync(dir)) throw new Error(`upstream pocket_tts not found under ${lib}; run npm run setup:python`)
  return dir
}

function hf(ref: HubFileRef): string {
  return `hf://${ref.repo}/${ref.path}@${ref.revision}`
}

describe('hub catalogue matches upstream pocket_tts 2.1.0 [needs .venv]', () => {
  const pkg = upstreamPackage()

  it("knows exactly upstream's languages", () => {
    const configs = readdirSync(join(pkg, 'config'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.replace(/\.yaml$/, ''))
      .sort()
    expect([...languages].sort()).toEqual(configs)
  })

  it.each([...languages])("%s: repos, paths, pins and architecture equal upstream's config", (language) => {
    const upstream = parseYaml(readFileSync(join(pkg, 'config', `${language}.yaml`), 'utf8')) as Record<string, unknown> & {
      flow_lm: Record<string, unknown> & {lookup_table: Record<string, unknown>}
    }
    const entry = languageEntry(language)
    expect(hf(entry.weights)).toBe(upstream['weights_path'])
    expect(hf(entry.weightsWithoutCloning)).toBe(upstream['weights_path_without_voice_cloning'])
    expect(hf(entry.tokenizer)).toBe(upstream.flow_lm.lookup_table['tokenizer_path'])
    const {weights_path: _w, weights_path_without_voice_cloning: _u, ...rest} = upstream
    const {tokenizer_path: _t, ...lookupTable} = upstream.flow_lm.lookup_table
    expect(entry.architecture).toEqual({...rest, flow_lm: {...upstream.flow_lm, lookup_table: lookupTable}})
  })

  it("has upstream's predefined voices, voice file scheme and default voices", () => {
    const utils = readFileSync(join(pkg, 'utils', 'utils.py'), 'utf8')
    const block = /_ORIGINS_OF_PREDEFINED_VOICES = \{([\s\S]*?)\n\}/.exec(utils)?.[1] ?? ''
    const names = [...block.matchAll(/^\s+"([a-z_]+)":/gm)].map((m) => m[1])
    expect(names).toHaveLength(26)
    expect([...predefinedVoices].sort()).toEqual([...names].sort())
    const scheme = /return f"(hf:\/\/[^"]+)"/.exec(utils)?.[1] ?? ''
    expect(hf(voiceFile({language: 'french_24l', voice: 'estelle'}))).toBe(
      scheme.replace('{language}', 'french_24l').replace('{name}', 'estelle'),
    )
    const defaults = readFileSync(join(pkg, 'default_parameters.py'), 'utf8')
    const table = /DEFAULT_VOICE_FOR_LANGUAGE = \{([\s\S]*?)\}/.exec(defaults)?.[1] ?? ''
    const fallback = /DEFAULT_VOICE_FALLBACK = "([a-z_]+)"/.exec(defaults)?.[1]
    const pairs = [...table.matchAll(/"([a-z]+)": "([a-z_]+)"/g)].map((m) => [m[1]!, m[2]!] as const)
    for (const language of languages) {
      const expected = pairs.find(([key]) => language.includes(key))?.[1] ?? fallback
      expect(languageEntry(language).defaultVoice, language).toBe(expected)
    }
  })
})
