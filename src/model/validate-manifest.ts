import {Ajv, type ErrorObject, type ValidateFunction} from 'ajv'
import exportResultSchema from '../../contracts/export-result.schema.json' with {type: 'json'}
import manifestSchema from '../../contracts/manifest.schema.json' with {type: 'json'}

// One validator for the contracts the Python tooling writes (contracts/*.schema.json, generated from the TS types).
// compiled on first use (not at import: the engine's start-up pays only for what it validates)
const schemas = {manifest: manifestSchema, 'export-result': exportResultSchema}
const validators: Partial<Record<keyof typeof schemas, ValidateFunction>> = {}
let ajv: Ajv | undefined

export interface ContractProblems {
  /** Problems outside any graph entry, one line each (`/files/2/sha256: must be string`). */
  readonly top: readonly string[]
  /** Graph name -> problems inside `graphs.<name>`. */
  readonly graphs: Readonly<Record<string, readonly string[]>>
}

function describe(error: ErrorObject): string {
  const where = error.instancePath === '' ? '/' : error.instancePath
  const extra =
    error.keyword === 'additionalProperties' ? ` (${String((error.params as {additionalProperty?: string}).additionalProperty)})` : ''
  return `${where}: ${error.message ?? error.keyword}${extra}`
}

/** Checks a value against `contracts/<schema>.schema.json`; each problem names where it is. */
export function contractProblems(schema: 'manifest' | 'export-result', value: unknown): ContractProblems {
  ajv ??= new Ajv({allErrors: true, strict: false})
  const validate = (validators[schema] ??= ajv.compile(schemas[schema]))
  if (validate(value)) return {top: [], graphs: {}}
  const top: string[] = []
  const graphs: Record<string, string[]> = {}
  for (const error of validate.errors ?? []) {
    const match = schema === 'manifest' ? /^\/graphs\/([^/]+)(\/.*)?$/.exec(error.instancePath) : null
    if (match?.[1] !== undefined) (graphs[match[1]] ??= []).push(describe(error))
    else top.push(describe(error))
  }
  return {top, graphs}
}
