import {randomInt} from 'node:crypto'
import {checkKnob, describeKnobRange, type KnobCheck, type KnobName} from '../limits/knob-ranges.js'
import {HttpProblem} from './http-problem.js'

export interface SamplingFields {
  readonly seed: number
  readonly temperature: number
}

export interface ParseSamplingFieldsParams {
  readonly seed: unknown
  readonly temperature: unknown
  /** Form fields arrive as strings; JSON fields must be numbers. */
  readonly fromForm: boolean
  /** The server's temperature when the request has none. */
  readonly defaultTemperature: number
}

/** The optional `seed` (default: random) and `temperature` (default: the server's) of a request. */
export function parseSamplingFields(params: ParseSamplingFieldsParams): SamplingFields {
  const seed = knobField('seed', 'seed', params.seed, params.fromForm)
  const temperature = knobField('temperature', 'temperature', params.temperature, params.fromForm)
  return {seed: seed ?? randomInt(0, 2 ** 31), temperature: temperature ?? params.defaultTemperature}
}

/**
 * One numeric field of a request, checked against its knob's range (the same table as the flags): form fields
 * are decimal text, JSON fields must be JSON numbers. 400 `invalid_value` naming the value and the range.
 */
export function knobField(knob: KnobName, param: string, raw: unknown, fromForm: boolean): number | undefined {
  if (raw === undefined || raw === null) return undefined
  const check: KnobCheck =
    fromForm || typeof raw !== 'string'
      ? checkKnob(knob, raw)
      : {ok: false, reason: `expected ${describeKnobRange(knob)} as a JSON number, got ${JSON.stringify(raw)}`}
  if (!check.ok) throw new HttpProblem({status: 400, code: 'invalid_value', message: `${param}: ${check.reason}.`, param})
  return check.value
}
