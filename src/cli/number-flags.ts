import {Flags} from '@oclif/core'
import {UsageError} from '../errors/index.js'
import {checkKnob, describeKnobRange, knobRangeCell, type KnobName} from '../limits/knob-ranges.js'

export interface KnobFlagOptions {
  readonly description: string
  readonly helpGroup?: string
  /** Other names of the flag (e.g. an older name kept working). */
  readonly aliases?: readonly string[]
}

/**
 * The one parser of numeric flags: the value must be plain decimal text (no hex, no `Infinity`) within the
 * knob's range of `src/limits/knob-ranges.ts`; otherwise a usage error (`INVALID_FLAG_VALUE`) that names the
 * flag, the value received and the allowed range. The help text ends with the range.
 */
function knobParser(knob: KnobName, options: KnobFlagOptions) {
  return Flags.custom<number>({
    // The help names the range without this machine's numbers (docs/commands.md is generated from it).
    description: `${options.description} Allowed: ${knobRangeCell(knob)}.`,
    ...(options.helpGroup === undefined ? {} : {helpGroup: options.helpGroup}),
    ...(options.aliases === undefined ? {} : {aliases: [...options.aliases]}),
    parse: async (input: string, _context, flag) => parseKnobFlag(knob, `--${flag.name}`, input),
  })
}

/** An optional numeric flag (undefined when absent). */
export function knobFlag(knob: KnobName, options: KnobFlagOptions) {
  return knobParser(knob, options)()
}

/** A numeric flag with a default (the default is shown in the help and must itself be in range). */
export function knobFlagWithDefault(knob: KnobName, options: KnobFlagOptions & {readonly default: number}) {
  const check = checkKnob(knob, options.default)
  if (!check.ok) throw new Error(`default of ${knob}: ${check.reason}`)
  return knobParser(knob, options)({default: options.default})
}

/** A numeric flag the command cannot run without. */
export function requiredKnobFlag(knob: KnobName, options: KnobFlagOptions) {
  return knobParser(knob, options)({required: true})
}

/** Parses one flag value against its knob's range (the parser of every numeric flag). */
export function parseKnobFlag(knob: KnobName, flag: string, input: string): number {
  const check = checkKnob(knob, input)
  if (check.ok) return check.value
  throw new UsageError({
    code: 'INVALID_FLAG_VALUE',
    message: `${flag}: ${check.reason}.`,
    hint: `Pass ${flag} ${describeKnobRange(knob)}; docs/limits-and-deployment.md lists every range.`,
    details: {flag, received: input, allowed: describeKnobRange(knob)},
  })
}
