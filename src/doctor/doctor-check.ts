export type CheckStatus = 'pass' | 'warn' | 'fail'

/** One row of `pockettts doctor`. */
export interface DoctorCheck {
  readonly id: string
  readonly title: string
  readonly status: CheckStatus
  readonly detail: string
  readonly hint?: string
  /** True when the selected work cannot run without this check passing. */
  readonly required: boolean
}

/** The kinds of work doctor can check for. */
export const doctorJobs = ['synth', 'export', 'golden', 'all'] as const
export type DoctorJob = (typeof doctorJobs)[number]

/** Whether a job needs the Python tooling. */
export function jobNeedsPython(job: DoctorJob): boolean {
  return job !== 'synth'
}
