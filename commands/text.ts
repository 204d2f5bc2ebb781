import {Args, Flags} from '@oclif/core'
import {PocketTtsCommand} from '../src/cli/base-command.js'
import {knobFlag, knobFlagWithDefault} from '../src/cli/number-flags.js'
import {renderTable} from '../src/report/render-table.js'
import {defaultReleaseFor} from '../src/upstream/upstream-releases.js'
import {UPSTREAM_RELEASES} from '../src/upstream/upstream-releases.js'
import type {SentencePieceModelInfo, TextChunk, UpstreamRelease} from '../src/text/index.js'

/** `pockettts text --json` output. */
export interface TextCommandResult {
  readonly text: string
  /** Plain `encode` of the text as given. */
  readonly ids: number[]
  /** `prepare_text_prompt` of the whole text. */
  readonly prepared: string
  readonly framesAfterEosGuess: number
  readonly maxTokens: number
  readonly chunks: TextChunk[]
  readonly warnings: string[]
  /** The tokenizer file, its kind and vocabulary size (and a SentencePiece model's settings). */
  readonly tokenizer: {readonly path: string; readonly kind: 'sentencepiece' | 'tokenizers'; readonly vocabSize: number} & Partial<
    Omit<SentencePieceModelInfo, 'pieces'>
  >
  /** Whose text rules were applied. */
  readonly upstream: UpstreamRelease
  readonly settings: {
    readonly padWithSpaces: boolean
    readonly removeSemicolons: boolean
    readonly recommendedFramesAfterEos: number | null
    readonly frameRate: number
  }
}

export default class Text extends PocketTtsCommand {
  static override summary = "Show how upstream's text front-end splits and tokenizes a text (chunks, ids, frame budgets)."
  static override description =
    'Runs the same steps as upstream pocket_tts before generation: prepare_text_prompt, ' +
    'split_into_best_sentences, SentencePiece ids per chunk, frames after EOS and max_gen_len. With ' +
    '--model the text settings come from the model config; with --tokenizer upstream defaults apply.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> "Hello world. How are you?" --model ../shared/oracle/tiny',
    '<%= config.bin %> <%= command.id %> "hello world" --tokenizer ../shared/oracle/tiny/tokenizer.model --json',
  ]
  static override args = {
    text: Args.string({description: 'The text to prepare.', required: true}),
  }
  static override flags = {
    model: Flags.string({description: 'Model folder (config.yaml + tokenizer.model) or upstream config .yaml.', exclusive: ['tokenizer']}),
    tokenizer: Flags.string({description: 'SentencePiece .model file (upstream default text settings).', exclusive: ['model']}),
    'max-tokens': knobFlagWithDefault('maxTokens', {description: 'Most tokens per chunk (upstream max_tokens).', default: 50}),
    upstream: Flags.option({
      description:
        'Whose text rules to apply: upstream pocket-tts 2.1.0, or 4.0.1 (character table, terminal ' +
        'punctuation, decimal points, chunks prepared again before tokenizing).',
      options: UPSTREAM_RELEASES,
      default: defaultReleaseFor('text'),
    })(),
    'frames-after-eos': knobFlag('framesAfterEos', {
      description: 'Frames after EOS for every chunk (default: per-chunk guess or the model recommendation).',
    }),
  }

  async run(): Promise<TextCommandResult> {
    const {args, flags} = await this.parse(Text)
    // loaded here, not at the top: oclif imports every command's module to list them (issue 17: peak RSS)
    const {loadTextFrontEnd, prepareChunks} = await import('../src/text/index.js')
    const {config} =
      flags.tokenizer === undefined ? await this.loadConfig({model: flags.model, config: flags.config}) : {config: {model: undefined}}
    const frontEnd = await loadTextFrontEnd({
      ...(flags.tokenizer === undefined ? {} : {tokenizer: flags.tokenizer}),
      ...(config.model === undefined ? {} : {model: config.model}),
      upstream: flags.upstream,
    })
    const prepared = await prepareChunks({
      tokenizer: frontEnd.tokenizer,
      text: args.text,
      config: frontEnd.config,
      maxTokens: flags['max-tokens'],
      framesAfterEos: flags['frames-after-eos'] ?? null,
    })
    const {tokenizer} = frontEnd
    const {pieces: _pieces, ...info} =
      tokenizer.kind === 'sentencepiece' && 'info' in tokenizer ? (tokenizer.info as SentencePieceModelInfo) : {pieces: []}
    const result: TextCommandResult = {
      text: args.text,
      ids: await tokenizer.encode(args.text),
      upstream: frontEnd.config.upstream,
      prepared: prepared.prepared,
      framesAfterEosGuess: prepared.framesAfterEosGuess,
      maxTokens: flags['max-tokens'],
      chunks: prepared.chunks,
      warnings: prepared.warnings,
      tokenizer: {path: tokenizer.path, kind: tokenizer.kind, vocabSize: tokenizer.vocabSize, ...info},
      settings: {
        padWithSpaces: frontEnd.config.padWithSpaces,
        removeSemicolons: frontEnd.config.removeSemicolons,
        recommendedFramesAfterEos: frontEnd.config.recommendedFramesAfterEos,
        frameRate: frontEnd.config.frameRate,
      },
    }
    this.log(`prepared: ${JSON.stringify(result.prepared)}`)
    this.log(`ids (${result.ids.length}): ${result.ids.join(' ')}`)
    this.log('')
    this.log(
      renderTable(
        ['#', 'tokens', 'frames after EOS', 'max_gen_len', 'text'],
        result.chunks.map((c, i) => [
          String(i),
          String(c.ids.length),
          String(c.framesAfterEos),
          String(c.maxGenLen),
          JSON.stringify(c.text),
        ]),
      ),
    )
    for (const warning of result.warnings) this.warn(warning)
    return result
  }
}
