/**
 * Faults the parity runner can inject into this runtime, so tests can prove that parity catches them and
 * names the stage where they first show. Library-level only: no CLI flag reaches them.
 */
export interface ParityFaults {
  /** Free-running: draw seeded noise instead of replaying the golden's noise tape. */
  readonly noiseNotReplayed?: boolean
  /** Free-running: generate this many frames more (or fewer) after EOS than the golden's `frames_after_eos`. */
  readonly framesAfterEosDelta?: number
  /** Teacher-forced: restart the Mimi decoder from its initial state before every frame. */
  readonly mimiStateNotCarried?: boolean
  /** Voice path: drop the first conditioning row (the voice BOS) after the Mimi encoder. */
  readonly dropVoiceBos?: boolean
}
