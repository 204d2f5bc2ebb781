import {checkDisk, checkModelsFolder} from './check-models.js'
import {checkPython} from './check-python.js'
import {checkNode, checkOnnxRuntime} from './check-runtime.js'
import {jobNeedsPython, type DoctorCheck, type DoctorJob} from './doctor-check.js'

export interface RunDoctorParams {
  readonly job: DoctorJob
  readonly python?: string
  /** Where the configured interpreter came from (e.g. POCKETTTS_PYTHON). */
  readonly pythonOrigin: string
  readonly modelsDir: string
}

export interface DoctorReport {
  /** False when a check the selected work needs has failed. */
  readonly ok: boolean
  readonly job: DoctorJob
  readonly checks: readonly DoctorCheck[]
}

/** Runs every check and decides whether the selected work can run. */
export async function runDoctor(params: RunDoctorParams): Promise<DoctorReport> {
  const needsPython = jobNeedsPython(params.job)
  const checks: DoctorCheck[] = [
    checkNode(),
    await checkOnnxRuntime(params.job === 'synth' || params.job === 'all'),
    ...(await checkPython({
      ...(params.python === undefined ? {} : {configured: params.python}),
      origin: params.pythonOrigin,
      required: needsPython,
    })),
    await checkDisk(params.modelsDir),
    checkModelsFolder(params.modelsDir),
  ]
  const ok = !checks.some((c) => c.status === 'fail' && c.required)
  return {ok, job: params.job, checks}
}
