import {checkGatedRepo} from './check-hub.js'
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
  /** Model hub base URL (for the gated-weights check). */
  readonly hubEndpoint?: string
  /** HF_TOKEN / --token: when given, doctor checks that it reaches the gated weights. */
  readonly hubToken?: string
  readonly fetch?: typeof fetch
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
  // Started first so that its network wait (2 s at most) overlaps the local checks.
  const hubCheck = checkGatedRepo({
    endpoint: params.hubEndpoint ?? 'https://huggingface.co',
    ...(params.hubToken === undefined ? {} : {token: params.hubToken}),
    ...(params.fetch === undefined ? {} : {fetch: params.fetch}),
  })
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
  const hub = await hubCheck
  if (hub !== null) checks.push(hub)
  const ok = !checks.some((c) => c.status === 'fail' && c.required)
  return {ok, job: params.job, checks}
}
