import {framesAfterEos} from './frames-after-eos.js'
import {maxGenLen} from './max-gen-len.js'
import {prepareTextPrompt} from './prepare-text-prompt.js'
import {pythonStrip} from './python-str.js'
import type {TextTokenizer} from './sentencepiece-tokenizer.js'
import {splitIntoBestSentences} from './split-into-best-sentences.js'
import {hasV4TextRules, type TextConfig} from './text-config.js'

export interface PrepareChunksParams {
  readonly tokenizer: TextTokenizer
  readonly text: string
  /** The model's text settings (padding, semicolons, recommended frames after EOS, frame rate). */
  readonly config: Omit<TextConfig, 'tokenizerPath'>
  /** @default 50 (upstream `max_tokens`) */
  readonly maxTokens?: number
  /** Upstream's `frames_after_eos` argument: overrides the per-chunk guess and the model's recommendation. */
  readonly framesAfterEos?: number | null
}

/** One chunk exactly as upstream's `generate_audio_stream` generates it. */
export interface TextChunk {
  /** The chunk string, as the splitter returned it. */
  readonly text: string
  /** What is tokenized for the model: the chunk itself (2.1.0), or `prepare_text_prompt(chunk)` (4.x). */
  readonly prepared: string
  readonly ids: number[]
  readonly framesAfterEos: number
  /** Upper bound on generated latent frames for this chunk. */
  readonly maxGenLen: number
}

export interface PrepareChunksResult {
  /** `prepare_text_prompt` of the whole text (what the splitter encodes, before its strip). */
  readonly prepared: string
  /** `prepare_text_prompt`'s guess for the whole text (without upstream's per-chunk +2). */
  readonly framesAfterEosGuess: number
  readonly chunks: TextChunk[]
  /** Chunks that still exceed `maxTokens` (upstream logs a warning; the model may skip words). */
  readonly warnings: string[]
}

/**
 * Upstream's text front-end for one `generate_audio` call: split the text into chunks, then per chunk tokenize
 * the chunk itself (2.1.0) or the chunk prepared again with `prepare_text_prompt` (4.x), and compute
 * frames-after-EOS and `max_gen_len`.
 */
export async function prepareChunks(params: PrepareChunksParams): Promise<PrepareChunksResult> {
  const {tokenizer, text, config} = params
  const maxTokens = params.maxTokens ?? 50
  const rules = {
    upstream: config.upstream,
    replaceCharacters: config.replaceCharacters,
    appendTerminalPunctuation: config.appendTerminalPunctuation,
    capitalizeFirstLetter: config.capitalizeFirstLetter,
  }
  const flags = {padWithSpaces: config.padWithSpaces, removeSemicolons: config.removeSemicolons, rules}
  const whole = prepareTextPrompt({text, ...flags})
  const warnings: string[] = []
  const chunks: TextChunk[] = []
  for (const chunk of await splitIntoBestSentences({tokenizer, text, maxTokens, ...flags})) {
    const again = prepareTextPrompt({text: chunk, ...flags})
    const prepared = hasV4TextRules(config.upstream) ? again.text : chunk
    const ids = await tokenizer.encode(prepared)
    // upstream warns on the chunk's own token count
    const counted = hasV4TextRules(config.upstream) ? (await tokenizer.encode(pythonStrip(chunk))).length : ids.length
    if (counted > maxTokens)
      warnings.push(`Chunk has ${counted} tokens (max ${maxTokens}); generation may skip words: "${chunk.slice(0, 50)}"`)
    chunks.push({
      text: chunk,
      prepared,
      ids,
      framesAfterEos: framesAfterEos({
        guess: again.framesAfterEosGuess,
        requested: params.framesAfterEos ?? null,
        recommended: config.recommendedFramesAfterEos,
      }),
      maxGenLen: maxGenLen({tokenCount: ids.length, frameRate: config.frameRate}),
    })
  }
  return {prepared: whole.text, framesAfterEosGuess: whole.framesAfterEosGuess, chunks, warnings}
}
