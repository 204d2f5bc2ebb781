import {freeSynthesis} from './free-synthesis.js'
import {teacherSynthesis} from './teacher-synthesis.js'
import {freeVoice, teacherVoice} from './voice-parity.js'

/**
 * The runtime under test: how parity runs a golden case through it, teacher-forced (each block fed the golden's
 * inputs, checks recorded as it goes) and free-running (the run alone, returned in the golden layout).
 * `engineRuntime`, the default, is this package's engine; a runtime that differs in one step (another
 * generation's block, a port under way, a deliberately broken step in a test) is compared the same way.
 */
export interface ParityRuntime {
  readonly teacherSynthesis: typeof teacherSynthesis
  readonly freeSynthesis: typeof freeSynthesis
  readonly teacherVoice: typeof teacherVoice
  readonly freeVoice: typeof freeVoice
}

/** This package's engine, as parity runs it. */
export const engineRuntime: ParityRuntime = {teacherSynthesis, freeSynthesis, teacherVoice, freeVoice}
