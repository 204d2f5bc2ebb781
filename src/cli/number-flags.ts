import {Flags} from '@oclif/core'
import {UsageError} from '../errors/index.js'

export interface NumberFlagOptions {
  readonly description: string
  /** Smallest allowed value. */
  readonly min?: number
  /** When true, `min` itself is not allowed. */
  readonly exclusiveMin?: boolean
}

/** A decimal-number flag (oclif only has integers): finite, optionally bounded below; bad input is a usage error. */
export function numberFlag(options: NumberFlagOptions) {
  return Flags.custom<number>({
    description: options.description,
    parse: async (input: string) => {
      const value = Number(input)
      const fail = (message: string): never => {
        throw new UsageError({code: 'INVALID_FLAG_VALUE', message, hint: 'See the command help with --help.'})
      }
      if (input.trim() === '' || !Number.isFinite(value)) fail(`Expected a number but received: ${input}`)
      if (options.min !== undefined && (options.exclusiveMin === true ? value <= options.min : value < options.min)) {
        fail(`Expected a number ${options.exclusiveMin === true ? '>' : '>='} ${options.min} but received: ${input}`)
      }
      return value
    },
  })()
}
