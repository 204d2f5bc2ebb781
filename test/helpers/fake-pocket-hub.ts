import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {GATED_REPO, REVISIONS, UNGATED_REPO} from '../../src/hub/catalogue.js'
import {startLocalHub, type LocalHub} from './local-hub.js'
import {ORACLE_TINY} from './oracle.js'

/** Tokens the fake hub knows: one whose account accepted the gated repo's terms, one that did not. */
export const TOKENS = {accepted: 'hf_accepted_terms', notAccepted: 'hf_valid_but_not_accepted'} as const

/** A later commit on `main` of the ungated repo (for --revision tests). */
export const MAIN_COMMIT = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'

export interface FakePocketFiles {
  readonly model: Uint8Array
  readonly tokenizer: Uint8Array
  readonly voice: Uint8Array
  /** Weights served by the gated repo (different bytes, so tests can tell which repo a file came from). */
  readonly gatedModel: Uint8Array
}

/** The oracle's tiny checkpoint in the upstream format, as the hub would serve it. */
export function oracleFiles(): FakePocketFiles {
  const model = readFileSync(join(ORACLE_TINY, 'model.safetensors'))
  return {
    model,
    gatedModel: model,
    tokenizer: readFileSync(join(ORACLE_TINY, 'tokenizer.model')),
    voice: readFileSync(join(ORACLE_TINY, 'voice.safetensors')),
  }
}

/** Random bytes of realistic small sizes (no oracle needed). */
export function syntheticFiles(): FakePocketFiles {
  return {
    model: randomBytes(3 * 1024 * 1024 + 17),
    gatedModel: randomBytes(3 * 1024 * 1024 + 5),
    tokenizer: randomBytes(59_339),
    voice: randomBytes(87_456),
  }
}

/**
 * Serves `files` as upstream's english model: `kyutai/pocket-tts-without-voice-cloning` (ungated: weights,
 * tokenizer, voice `alba`, a README) and `kyutai/pocket-tts` (gated weights), at upstream's pinned revisions.
 */
export function startFakePocketHub(files: FakePocketFiles): Promise<LocalHub> {
  const pins = (...revs: string[]): Record<string, string> => Object.fromEntries(revs.map((r) => [r, r]))
  return startLocalHub({
    validTokens: [TOKENS.accepted, TOKENS.notAccepted],
    repos: {
      [UNGATED_REPO]: {
        revisions: {...pins(REVISIONS.ungated, REVISIONS.voices, MAIN_COMMIT), main: MAIN_COMMIT},
        files: {
          'languages/english/model.safetensors': files.model,
          'languages/english/tokenizer.model': files.tokenizer,
          'languages/english/embeddings/alba.safetensors': files.voice,
          'README.md': Buffer.from('# fake pocket-tts-without-voice-cloning\n'),
        },
      },
      [GATED_REPO]: {
        gated: true,
        acceptedTokens: [TOKENS.accepted],
        revisions: pins(REVISIONS.gated, REVISIONS.gatedEnglish202604),
        files: {'languages/english/model.safetensors': files.gatedModel},
      },
    },
  })
}
