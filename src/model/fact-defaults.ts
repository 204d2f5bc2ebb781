/**
 * The model facts that 4.x exports added to manifest.json (upstream, num_kv_heads, hidden_dim, sampler, generation defaults,
 * text rules, tokenizer, end_on_pause_voice), filled in for a 2.1.0 export written before them: on 2.1.0 each one is
 * a constant of upstream's code or follows from the facts the export already has. An export that records another
 * release without them is left as it is (the schema then names what is missing).
 */
export function withFactDefaults(manifest: unknown): unknown {
  const top = asRecord(manifest)
  const model = asRecord(top?.['model'])
  if (top === undefined || model === undefined || model['sampler'] !== undefined) return manifest
  const exporter = asRecord(top['exporter'])
  const release = exporter?.['upstream'] ?? exporter?.['pocket_tts'] ?? '2.1.0'
  if (release !== '2.1.0') return manifest
  return {
    ...top,
    model: {
      upstream: '2.1.0',
      num_kv_heads: model['num_heads'],
      hidden_dim: model['d_model'],
      sampler: {type: 'lsd', decode_steps: 1},
      default_temperature: 0.7,
      default_eos_threshold: -4,
      eos_min_step: 0,
      fade_in_ms: 0,
      text_rules: 'v2.1',
      replace_characters: {},
      capitalize_first_letter: true,
      append_terminal_punctuation: true,
      tokenizer: 'sentencepiece',
      end_on_pause_voice: false,
      ...model,
    },
  }
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
}
