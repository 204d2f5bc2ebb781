import {findPython, jobModules, probePython, type PythonModuleName} from '../python/index.js'
import {isPocketTtsError} from '../errors/index.js'
import type {DoctorCheck} from './doctor-check.js'

export interface CheckPythonParams {
  readonly configured?: string
  readonly origin: string
  /** Whether the selected work needs Python (missing = fail instead of warn). */
  readonly required: boolean
}

/** The interpreter, then each module of the tooling with its version and pin. */
export async function checkPython(params: CheckPythonParams): Promise<DoctorCheck[]> {
  let python: string
  try {
    const found = findPython({...(params.configured === undefined ? {} : {configured: params.configured}), origin: params.origin})
    python = found.path
  } catch (error) {
    if (!isPocketTtsError(error)) throw error
    // A configured interpreter that does not exist is always a failure: the user asked for it.
    const explicit = params.configured !== undefined
    return [
      {
        id: 'python',
        title: 'Python interpreter',
        status: explicit || params.required ? 'fail' : 'warn',
        detail: error.message,
        ...(error.hint === undefined ? {} : {hint: error.hint}),
        required: explicit || params.required,
      },
    ]
  }
  const modules: readonly PythonModuleName[] = jobModules.all
  let probe
  try {
    probe = await probePython({python, modules})
  } catch (error) {
    if (!isPocketTtsError(error)) throw error
    return [
      {
        id: 'python',
        title: 'Python interpreter',
        status: 'fail',
        detail: error.message,
        ...(error.hint ? {hint: error.hint} : {}),
        required: true,
      },
    ]
  }
  const checks: DoctorCheck[] = [
    {
      id: 'python',
      title: 'Python interpreter',
      status: 'pass',
      detail: `${python} (Python ${probe.pythonVersion})`,
      required: params.required,
    },
  ]
  for (const m of probe.modules) {
    const missing = m.version === null
    checks.push({
      id: `python.${m.module}`,
      title: `  ${m.module}`,
      status: missing ? (params.required ? 'fail' : 'warn') : m.matchesPin ? 'pass' : 'warn',
      detail: missing
        ? `missing (${(m.error ?? '').split('\n')[0]})`
        : m.matchesPin
          ? (m.version ?? '')
          : `${m.version} (project pins ${m.requirement})`,
      ...(missing || !m.matchesPin ? {hint: `Run \`npm run setup:python\`, or: ${python} -m pip install '${m.requirement}'`} : {}),
      required: params.required,
    })
  }
  return checks
}
