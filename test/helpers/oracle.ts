import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {oracleDir} from '../../src/config/project-paths.js'

/** `../shared/oracle`: upstream-recorded goldens on a tiny checkpoint. */
export const ORACLE = oracleDir()
export const ORACLE_TINY = join(ORACLE, 'tiny')
export const hasOracle = existsSync(join(ORACLE, 'FORMAT.md'))
export const isCI = process.env['CI'] === 'true'

/**
 * True when tests that need the oracle must be skipped: only outside CI. Under CI=true a missing oracle
 * makes them run and fail. Such tests carry "[needs ../shared/oracle]" in their name.
 */
export const skipWithoutOracle = !hasOracle && !isCI
export const NEEDS_ORACLE = '[needs ../shared/oracle]'

export function requireOracle(): string {
  if (!hasOracle) throw new Error(`../shared/oracle is missing (looked in ${ORACLE}); these tests need it.`)
  return ORACLE
}
