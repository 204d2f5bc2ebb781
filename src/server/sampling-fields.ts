import {randomInt} from 'node:crypto'
import {HttpProblem} from './http-problem.js'

/** Largest accepted seed (seeds are 32-bit). */
export const MAX_SEED = 2 ** 32 - 1
/** Highest accepted temperature (the noise std is its square root). */
export const MAX_TEMPERATURE = 5

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
  const number = (raw: unknown, param: string): number | undefined => {
    if (raw === undefined || raw === null) return undefined
    const value = params.fromForm && typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw
    if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(param, `must be a number (got ${JSON.stringify(raw)})`)
    return value
  }
  const seed = number(params.seed, 'seed')
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED)) throw invalid('seed', `must be a whole number from 0 to ${MAX_SEED}`)
  const temperature = number(params.temperature, 'temperature')
  if (temperature !== undefined && (temperature < 0 || temperature > MAX_TEMPERATURE)) throw invalid('temperature', `must be from 0 to ${MAX_TEMPERATURE}`)
  return {seed: seed ?? randomInt(0, 2 ** 31), temperature: temperature ?? params.defaultTemperature}
}

function invalid(param: string, why: string): HttpProblem {
  return new HttpProblem({status: 400, code: 'invalid_value', message: `${param} ${why}.`, param})
}
