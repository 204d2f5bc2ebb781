import contract from '../../contracts/tolerances.json' with {type: 'json'}
import type {Tolerance} from '../tensor/tolerance.js'

export type {Tolerance} from '../tensor/tolerance.js'

export interface ToleranceEntry extends Tolerance {
  /** Which stage of the data flow the check judges (docs/parity.md's table). */
  readonly stage: string
  /** Why this value (shown in the table of docs/parity.md). */
  readonly why: string
}

/**
 * The default tolerance of every check, keyed by check name (= the golden tensor it compares): the one table of
 * `contracts/tolerances.json`, which the export-time checks of the Python tooling read too (its `about` says why
 * these values). docs/parity.md shows the same table (a test keeps them equal).
 */
export const DEFAULT_TOLERANCES: Readonly<Record<keyof typeof contract.checks, ToleranceEntry>> = contract.checks

/**
 * The release-drift floor (`contracts/tolerances.json` `drift`): a `--cross-release` run names the first check whose
 * largest difference exceeds it, above cross-CPU and ORT-vs-torch float noise, even when that check is within tolerance.
 */
export const DRIFT_FLOOR: {readonly floor: number; readonly why: string} = contract.drift

export type CheckName = keyof typeof DEFAULT_TOLERANCES
export const CHECK_NAMES = Object.keys(DEFAULT_TOLERANCES) as CheckName[]

export type ToleranceTable = Readonly<Record<CheckName, Tolerance>>

export function isCheckName(name: string): name is CheckName {
  return Object.hasOwn(DEFAULT_TOLERANCES, name)
}
