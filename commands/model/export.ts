import {Flags} from '@oclif/core'
import {PocketTtsCommand} from '../../src/cli/base-command.js'
import {renderTable} from '../../src/report/render-table.js'
import type {ExportModelResult} from '../../src/model/export-model.js'
import {upstreamFlag} from '../../src/cli/upstream-flag.js'

export default class ModelExport extends PocketTtsCommand {
  static override summary = 'Export an upstream-format model folder to ONNX graphs with a manifest, checked against upstream.'
  static override description =
    'Loads the folder (config.yaml, the checkpoint and tokenizer it names) with upstream pocket_tts, ' +
    'traces its modules into six ONNX graphs (opset 17) that a runtime drives frame by frame with ' +
    "explicit state, checks every graph and the whole chain against upstream's own streaming run, and " +
    "writes manifest.json, the embedded golden (upstream's reference run and each graph's recorded calls, " +
    'golden/reference/), the tokenizer and the voice files beside the graphs. The folder appears only ' +
    "when everything succeeded. --upstream 4.0.1 traces upstream 4.0.1's modules for every 4.x family " +
    '(grouped-query attention, z_dim, low-rank text table, LSD, drifting or pointwise sampler heads, the ' +
    'small Mimi decoder); without it the release the folder records (fixture.json) is used, else 2.1.0. ' +
    'The manifest records the release (model.upstream, exporter.upstream) and what the runtime must ' +
    "follow (sampler type, KV heads, the config's generation defaults; docs/graph-contract.md)."
  static override examples = [
    '<%= config.bin %> <%= command.id %> --from ../shared/oracle/tiny --out models/tiny-onnx',
    '<%= config.bin %> <%= command.id %> --from models/english --out models/english-onnx --force --json',
  ]
  static override flags = {
    from: Flags.string({
      description: 'Model folder in the upstream format (config.yaml, model.safetensors, tokenizer.model or tokenizer.json).',
      required: true,
    }),
    out: Flags.string({description: 'Folder to create for the export.', required: true}),
    python: Flags.string({description: 'Python interpreter with the tooling (else POCKETTTS_PYTHON, .venv, python3).'}),
    upstream: upstreamFlag('model export', {
      what: 'Upstream pocket-tts release whose modules are traced (a 4.x config needs 4.0.1)',
      defaultText: "the release the --from folder records (fixture.json), else 2.1.0 (contracts/upstreams.json's default)",
    }),
    force: Flags.boolean({description: 'Replace --out when it exists (only once the new export is complete).'}),
    int8: Flags.boolean({
      description:
        'int8 weights for the FlowLM transformer, flow head and Mimi decoder transformer matmuls (the Mimi decoder only at an audio SNR >= 40 dB against ' +
        'its fp32 form); accuracy against fp32 is measured and recorded.',
    }),
    batched: Flags.boolean({
      description:
        'Also export the serving graphs with a batch axis (flow_lm_step_batched, flow_lm_flow_batched) so that serve shares each FlowLM ' +
        'call (prefills and steps) between the requests generating at once; serve --batching loads them instead of flow_lm_main and ' +
        'flow_lm_flow (LSD heads only).',
    }),
  }

  async run(): Promise<ExportModelResult> {
    const {flags} = await this.parse(ModelExport)
    // loaded here, not at the top: oclif imports every command's module to list them (issue 17: peak RSS)
    const [{ProgressReporter}, {exportModel}] = await Promise.all([
      import('../../src/cli/progress-reporter.js'),
      import('../../src/model/export-model.js'),
    ])
    const {config, origins} = await this.loadConfig({python: flags.python, config: flags.config})
    const progress = new ProgressReporter()
    let result: ExportModelResult
    try {
      result = await exportModel({
        from: flags.from,
        out: flags.out,
        force: flags.force,
        int8: flags.int8,
        batched: flags.batched,
        ...(flags.upstream === undefined ? {} : {upstream: flags.upstream}),
        ...(config.python === undefined ? {} : {python: config.python, pythonOrigin: origins.python}),
        pythonTimeoutMs: config.pythonTimeout * 1000,
        signal: this.signal,
        onProgress: (event) => progress.update(event),
        ...(this.verbose ? {onStderr: (line: string) => process.stderr.write(`${line}\n`)} : {}),
      })
    } finally {
      progress.stop()
    }
    const rows = Object.entries(result.graphs).map(([name, g]) => {
      const worst = Math.max(0, ...Object.values(g.max_abs))
      return [name, g.file, `${(g.size / 1024).toFixed(0)} KiB`, String(g.calls), worst.toExponential(1)]
    })
    this.log(renderTable(['graph', 'file', 'size', 'calls checked', 'max abs vs upstream'], rows))
    const chain = result.chain
    const worstChain = Math.max(0, ...Object.values(chain.max_abs))
    const pair = (key: string): string => {
      const value = chain[key] as {onnx: unknown; upstream: unknown} | undefined
      return `${String(value?.onnx)} (upstream ${String(value?.upstream)})`
    }
    this.log('')
    this.log(
      `Chain on ONNX Runtime with upstream's noise: ${pair('steps')} AR steps, EOS at step ` +
        `${pair('eos_step')}, ${pair('frames')} frames, max abs ${worstChain.toExponential(1)} ` +
        `vs upstream.`,
    )
    const q = result.quantization
    if (q !== undefined) {
      const nodes = Object.entries(q.graphs).map(
        ([g, info]) => `${g}: ${info.nodes} matmuls, ${(info.fp32_bytes / 1e6).toFixed(1)} -> ${(info.int8_bytes / 1e6).toFixed(1)} MB`,
      )
      const p = q.parity
      const db = (v: number | null | undefined): string => (v === null || v === undefined ? 'identical' : `${v.toFixed(1)} dB`)
      this.log(`int8: ${nodes.join('; ')}.`)
      this.log(
        `int8 vs fp32 (same noise, ${p.steps} steps, EOS ignored): first frame SNR ${db(p.first_frame_snr_db)}, ` +
          `lowest of the first ${p.frame_snr_db.length} ${db(p.min_snr_db)}; ` +
          `EOS decision agrees on ${((p.eos_decision_agreement ?? 0) * 100).toFixed(0)}% of ` +
          `steps (first EOS at ${String(p.first_eos_step.int8)} vs ${String(p.first_eos_step.fp32)}); ` +
          `` +
          `upstream's run replayed: EOS at ${String(p.upstream_run.eos_step.int8)} (upstream ` +
          `${String(p.upstream_run.eos_step.upstream)}), ${p.upstream_run.frames.int8} (upstream ` +
          `${p.upstream_run.frames.upstream}) frames.`,
      )
      const mimi = p.mimi_decoder
      if (mimi !== undefined) {
        this.log(
          `int8 Mimi decoder alone (${mimi.frames} frames of the fp32 chain's latents): lowest frame SNR ${db(mimi.min_audio_snr_db)} ` +
            `(kept at >= ${mimi.threshold_db} dB): ${mimi.int8 === true ? `int8 (${mimi.selection ?? 'as recorded'})` : 'fp32 kept'}.`,
        )
      }
    }
    this.log(`Exported ${result.generation} model to ${result.out}.`)
    return result
  }
}
