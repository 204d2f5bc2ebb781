import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {embeddedModelDir} from '../../src/config/project-paths.js'
import {withFactDefaults} from '../../src/model/fact-defaults.js'
import {contractProblems} from '../../src/model/validate-manifest.js'

const ISSUE16_FACTS = [
  'upstream',
  'num_kv_heads',
  'hidden_dim',
  'sampler',
  'default_temperature',
  'default_eos_threshold',
  'eos_min_step',
  'fade_in_ms',
  'text_rules',
  'replace_characters',
  'capitalize_first_letter',
  'append_terminal_punctuation',
  'tokenizer',
  'end_on_pause_voice',
]

describe('the 4.x model facts on a 2.1.0 export written before them', () => {
  const manifest = JSON.parse(readFileSync(join(embeddedModelDir(), 'manifest.json'), 'utf8')) as {model: Record<string, unknown>}

  it('are filled in with exactly what the 2.1.0 exporter writes today (fixtures/tiny-onnx), and the schema accepts the result', () => {
    const model = Object.fromEntries(Object.entries(manifest.model).filter(([key]) => !ISSUE16_FACTS.includes(key)))
    const old = {...manifest, model}
    expect(contractProblems('manifest', old).top.length).toBeGreaterThan(0)
    const filled = withFactDefaults(old) as typeof manifest
    expect(filled.model).toEqual(manifest.model)
    expect(contractProblems('manifest', filled).top).toEqual([])
  })

  it('are not invented for an export of another release', () => {
    const model = Object.fromEntries(Object.entries(manifest.model).filter(([key]) => !ISSUE16_FACTS.includes(key)))
    const other = {...manifest, model, exporter: {version: '0', opset: 17, upstream: '4.0.1'}}
    expect(withFactDefaults(other)).toBe(other)
  })
})
