import {readdirSync, rmSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {describe, expect, inject, it} from 'vitest'
import type {ExportModelResult} from '../../src/model/export-model.js'
import type {TensorContract} from '../../src/model/manifest-types.js'
import {readManifest} from '../../src/model/read-manifest.js'
import {isCI} from '../helpers/oracle.js'
import {runCli} from '../helpers/cli.js'
import {hasOracle4, oracle4Family} from '../helpers/oracle4.js'
import {oracle4Export} from '../helpers/oracle4-export.js'
import {ORACLE4_FAMILIES} from '../oracle4-setup.js'

const GRAPHS = ['text_conditioner', 'flow_lm_main', 'flow_lm_flow', 'latent_to_mimi', 'mimi_decoder', 'mimi_encoder']

/** What each family's config.yaml (../shared/oracle4) says, as the export must record it. */
const EXPECTED = {
  't4-drift': {sampler: 'drifting', heads: 4, kvHeads: 2, headDim: 8, hidden: 16, eos: -1, tokenizer: 'sentencepiece', mimiContext: 50},
  't4-point': {sampler: 'pointwise', heads: 4, kvHeads: 1, headDim: 8, hidden: 16, eos: -1, tokenizer: 'sentencepiece', mimiContext: 50},
  't4-lsd': {sampler: 'lsd', heads: 4, kvHeads: 4, headDim: 16, hidden: 64, eos: -4, tokenizer: 'tokenizers', mimiContext: 250},
} as const

function names(specs: readonly TensorContract[]): string[] {
  return specs.map((s) => s.name)
}

describe.skipIf(!hasOracle4 && !isCI)('model export --upstream 4.0.1 on every oracle4 family [needs ../shared/oracle4]', () => {
  const results = inject('oracle4ExportJson')

  it.each(ORACLE4_FAMILIES)('%s: every graph and the free-running chain pass their checks against upstream 4.0.1', (family) => {
    oracle4Export(family)
    const result = JSON.parse(results[family] ?? '') as ExportModelResult
    // one-step heads also get the combined step graph (flow_lm_main then flow_lm_flow in one call)
    const graphs = EXPECTED[family].sampler === 'lsd' ? GRAPHS : [...GRAPHS, 'flow_lm_main_flow']
    expect(Object.keys(result.graphs).sort()).toEqual([...graphs].sort())
    for (const [graph, entry] of Object.entries(result.graphs)) {
      expect(entry.calls, graph).toBeGreaterThan(0)
      for (const [output, worst] of Object.entries(entry.max_abs)) expect(worst, `${graph}.${output}`).toBeLessThan(1e-4)
    }
    expect(result.chain.passed).toBe(true)
    const chain = result.chain as unknown as Record<string, {onnx: number | null; upstream: number | null}>
    for (const key of ['steps', 'frames', 'eos_step']) expect(chain[key]?.onnx, key).toBe(chain[key]?.upstream)
    // 4.x ignores EOS on the first 6 AR steps: the chain found upstream's EOS step, never an earlier one
    if (chain['eos_step']?.upstream !== null) expect(chain['eos_step']?.upstream).toBeGreaterThanOrEqual(6)
  })

  it.each(ORACLE4_FAMILIES)(
    "%s: the manifest records 4.0.1, the sampler, the KV heads and the config's generation defaults",
    async (family) => {
      const dir = oracle4Export(family)
      const {manifest} = await readManifest({dir})
      const want = EXPECTED[family]
      const model = manifest.model
      expect(model.upstream).toBe('4.0.1')
      expect(manifest.exporter['upstream']).toBe('4.0.1') // t4-point: from its fixture.json, no --upstream given
      expect(model.sampler).toEqual({type: want.sampler, decode_steps: 1})
      expect([model.num_heads, model.num_kv_heads, model.head_dim, model.hidden_dim]).toEqual([
        want.heads,
        want.kvHeads,
        want.headDim,
        want.hidden,
      ])
      expect({t: model.default_temperature, e: model.default_eos_threshold}).toEqual({t: 0.3, e: want.eos})
      expect(manifest.generation_defaults).toMatchObject({temperature: 0.3, eos_threshold: want.eos, lsd_decode_steps: 1})
      expect([model.eos_min_step, model.fade_in_ms, model.text_rules, model.end_on_pause_voice]).toEqual([6, 5, 'v4', true])
      expect(model.tokenizer).toBe(want.tokenizer)
      expect(manifest.tokenizer).toMatchObject({
        kind: want.tokenizer,
        path: want.tokenizer === 'tokenizers' ? 'tokenizer.json' : 'tokenizer.model',
      })
      expect(model.mimi_context).toBe(want.mimiContext)
      if (family === 't4-drift') expect(model.replace_characters).toMatchObject({'—': ',', '’': "'"})

      // grouped-query attention: the cache holds num_kv_heads heads
      const main = manifest.graphs['flow_lm_main']
      expect(main?.inputs.find((s) => s.name === 'past_k.0')?.shape).toEqual([1, 'past_len', want.kvHeads, want.headDim])
      expect(main?.outputs.find((s) => s.name === 'new_kv')?.shape).toEqual(['new_len', model.num_layers, 2, want.kvHeads, want.headDim])
      expect(main?.outputs.find((s) => s.name === 'hidden')?.shape).toEqual([1, want.hidden])
      // the attention as contrib operators (grouped heads as query rows), 4.x's tanh GELU as one FastGelu
      expect(main?.rewrites).toEqual(['fused_attention', 'gelu_tanh_fused'])
      // the sampler head's inputs fit its type
      const flow = manifest.graphs['flow_lm_flow']
      if (want.sampler === 'lsd') {
        expect([names(flow?.inputs ?? []), names(flow?.outputs ?? [])]).toEqual([['hidden', 's', 't', 'x'], ['flow_dir']])
      } else {
        expect([names(flow?.inputs ?? []), names(flow?.outputs ?? [])]).toEqual([['hidden', 'noise'], ['latent']])
      }
      // the (small) Mimi decoder keeps the streaming-state contract with its streaming code substituted
      // (mimi_streaming.py) and every node rewrite, 4.x's tanh GELU included
      const decoder = manifest.graphs['mimi_decoder']
      expect(decoder?.rewrites).toEqual(['mimi_streaming', 'convtranspose_polyphase', 'elu_primitives', 'gelu_tanh_fused'])
      expect(decoder?.state.length).toBe((decoder?.inputs.length ?? 0) - 1)
      const window = decoder?.inputs.find((s) => s.name.endsWith('self_attn.kv'))
      expect(window?.shape).toEqual([2, want.mimiContext, model.mimi_num_heads, model.mimi_head_dim])
      // voice states with pad keys and num_kv_heads caches are recognised and copied
      expect(manifest.voices.map((v) => [v.path, v.kind])).toContainEqual(['voice.safetensors', 'kv_state'])
      const golden = JSON.parse(await readFile(join(dir, 'golden/reference/manifest.json'), 'utf8')) as {source: {upstream: string}}
      expect(golden.source.upstream).toBe('4.0.1')
    },
  )

  it.each([
    ['--int8', 'EXPORT_INT8_UNSUPPORTED'],
    ['--batched', 'EXPORT_BATCHED_UNSUPPORTED'],
  ])('%s on a one-step sampler head is refused before the slow work (%s), and nothing is written', async (flag, code) => {
    const source = oracle4Family('t4-drift')
    try {
      const out = join(dirname(source), 'refused-onnx')
      const run = await runCli(['model', 'export', '--upstream', '4.0.1', '--from', source, '--out', out, flag])
      expect(run.exitCode).toBe(2)
      expect(run.stderr).toContain(code)
      expect(readdirSync(dirname(source)).sort()).toEqual(['t4-drift'])
    } finally {
      rmSync(dirname(source), {recursive: true, force: true})
    }
  })
})
