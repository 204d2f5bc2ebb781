import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {execa} from 'execa'
import {beforeAll, describe, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'
import {packageRoot} from '../../src/config/project-paths.js'
import {
  ARCHITECTURES_4_0_1,
  CONFIGS_4_0_1,
  languageEntry,
  languages,
  predefinedVoices,
  predefinedVoices4,
  voiceFile,
  voiceFile4,
  type Config4,
  type HubFileRef,
} from '../../src/hub/index.js'
import {upstreamRelease} from '../../src/upstream/index.js'

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

/** Lists what the installed upstream 4.0.1 package ships: its configs' hub files, its predefined voices and defaults. */
const PROBE_4_0_1 = `
import json, yaml
from pocket_tts.utils.config import CONFIGS_DIR
from pocket_tts.utils import utils
from pocket_tts import default_parameters as d
configs = {}
yamls = {}
for p in sorted(CONFIGS_DIR.glob('*.yaml')):
    c = yaml.safe_load(p.read_text())
    lut = c['flow_lm']['lookup_table']
    configs[p.stem] = {'weights': c['weights_path'], 'weightsWithoutCloning': c['weights_path_without_voice_cloning'],
                       'tokenizer': lut['tokenizer_path'], 'tokenizerKind': lut.get('tokenizer', 'sentencepiece')}
    yamls[p.stem] = {'config': c, 'firstLine': p.read_text().splitlines()[0]}
print(json.dumps({'configs': configs, 'yamls': yamls, 'voices': sorted(utils._ORIGINS_OF_PREDEFINED_VOICES),
                  'voice': utils.get_predefined_voice('CONFIG', 'VOICE'), 'defaultLanguage': d.DEFAULT_LANGUAGE}))
`
const PYTHON_4 = join(packageRoot(), upstreamRelease('4.0.1').venv, 'bin', 'python')
const ARCHITECTURES_FILE = join(packageRoot(), 'contracts', 'architectures-4.0.1.json')

describe.skipIf(!existsSync(PYTHON_4) && process.env['CI'] !== 'true')(
  'hub catalogue matches upstream pocket_tts 4.0.1 [needs .venv-4.0.1]',
  () => {
    interface Probe {
      configs: Record<string, {weights: string; weightsWithoutCloning: string; tokenizer: string; tokenizerKind: string}>
      /** Each config file as upstream's YAML parser reads it, and its first line. */
      yamls: Record<string, {config: Record<string, unknown>; firstLine: string}>
      voices: string[]
      voice: string
      defaultLanguage: string
    }
    let probe: Probe
    beforeAll(async () => {
      probe = JSON.parse((await execa(PYTHON_4, ['-c', PROBE_4_0_1])).stdout) as Probe
    })

    it("lists exactly 4.0.1's configs, each with its weights, tokenizer and pins", () => {
      expect(Object.keys(CONFIGS_4_0_1).sort()).toEqual(Object.keys(probe.configs).sort())
      for (const [name, upstream] of Object.entries(probe.configs)) {
        const entry = CONFIGS_4_0_1[name as Config4]
        expect(
          {
            weights: hf(entry.weights),
            weightsWithoutCloning: hf(entry.weightsWithoutCloning),
            tokenizer: hf(entry.tokenizer),
            tokenizerKind: entry.tokenizerKind,
          },
          name,
        ).toEqual(upstream)
      }
      // 4.0.1's default language is its english config, the english_2026-10 model (tokenizer.json)
      expect(probe.defaultLanguage).toBe('english')
      expect(CONFIGS_4_0_1.english.tokenizer.path).toBe('languages/english/tokenizer.json')
    })

    it("holds each config's architecture: upstream's YAML without its hub paths, keys in upstream's order", () => {
      expect(Object.keys(ARCHITECTURES_4_0_1).sort()).toEqual(Object.keys(probe.yamls).sort())
      for (const [name, {config}] of Object.entries(probe.yamls)) {
        const {weights_path: _w, weights_path_without_voice_cloning: _u, ...rest} = config
        const {weights_path: _f, ...flowLm} = rest['flow_lm'] as Record<string, unknown>
        const {weights_path: _m, ...mimi} = rest['mimi'] as Record<string, unknown>
        const {tokenizer_path: _t, ...lookupTable} = flowLm['lookup_table'] as Record<string, unknown>
        const expected = {...rest, flow_lm: {...flowLm, lookup_table: lookupTable}, mimi}
        // as JSON text: equal values in upstream's key order (config.yaml is written in the template's order)
        expect(JSON.stringify(ARCHITECTURES_4_0_1[name]), name).toBe(JSON.stringify(expected))
      }
    })

    it('the architecture file is what the project script generates from the installed package (config_architectures --check)', async () => {
      const run = await execa(
        PYTHON_4,
        ['-m', 'pockettts_tools.config_architectures', '--upstream', '4.0.1', '--out', ARCHITECTURES_FILE, '--check'],
        {cwd: packageRoot(), env: {PYTHONPATH: join(packageRoot(), 'scripts')}, reject: false},
      )
      expect(run.exitCode, run.stdout + run.stderr).toBe(0)
      expect(run.stdout).toContain('"status": "verified"')
    })

    it('27 config files, 26 models: `english` is the default, with the weights of english_2026-10 under its own hub paths', () => {
      // the issue counts 26 names: the models; 4.0.1's package ships one more file, its default `english`
      expect(Object.keys(CONFIGS_4_0_1)).toHaveLength(27)
      expect(probe.yamls['english']?.firstLine).toBe('# Default English model: identical weights to english_2026-10.yaml.')
      expect(ARCHITECTURES_4_0_1['english']).toEqual(ARCHITECTURES_4_0_1['english_2026-10'])
      const {english, 'english_2026-10': e2610} = CONFIGS_4_0_1
      expect([english.weights.revision, english.weightsWithoutCloning.revision]).toEqual([
        e2610.weights.revision,
        e2610.weightsWithoutCloning.revision,
      ])
      expect(english.weights.path).not.toBe(e2610.weights.path)
      const others = Object.entries(probe.yamls).filter(([name, y]) => name !== 'english' && /identical weights/i.test(y.firstLine))
      expect(others).toEqual([])
    })

    it("has 4.0.1's predefined voices and voice file scheme", () => {
      expect([...predefinedVoices4].sort()).toEqual(probe.voices)
      expect(hf(voiceFile4({config: 'dutch', voice: 'daan'}))).toBe(probe.voice.replace('CONFIG', 'dutch').replace('VOICE', 'daan'))
    })
  },
)
