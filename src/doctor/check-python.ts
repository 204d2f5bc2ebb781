import {findPython, jobModules, probePython, type PythonModuleName} from '../python/index.js'
import {isPocketTtsError} from '../errors/index.js'
import {UPSTREAM_RELEASES, upstreamRelease, type UpstreamRelease} from '../upstream/upstream-releases.js'
import type {DoctorCheck} from './doctor-check.js'

export interface CheckPythonParams {
  readonly configured?: string
  readonly origin: string
  /** Whether the selected work needs Python (missing = fail instead of warn). */
  readonly required: boolean
}

// A layered release venv holds only its pins (the rest is the base venv's): its upstream and torch are shown.
const LAYERED_MODULES: readonly PythonModuleName[] = ['torch', 'pocket_tts']

/**
 * One environment per pinned upstream release (contracts/upstreams.json): the interpreter, then each module with
 * its version and pin. The base release (the project's tooling) is what --for export/golden needs; a missing
 * other release is a warning (only the commands run with --upstream RELEASE need it).
 */
export async function checkPython(params: CheckPythonParams): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = []
  for (const release of UPSTREAM_RELEASES) checks.push(...(await checkRelease(params, release)))
  return checks
}

async function checkRelease(params: CheckPythonParams, release: UpstreamRelease): Promise<DoctorCheck[]> {
  const info = upstreamRelease(release)
  const id = info.base ? 'python' : `python@${release}`
  const title = `Python interpreter (upstream ${release})`
  const required = info.base && params.required
  const fix = `Run \`npm run setup:python\` (makes ${info.venv}), or set ${info.pythonEnv} to an interpreter with pocket-tts==${release}.`
  let python: string
  let explicit = false
  try {
    const found = findPython({
      ...(params.configured === undefined ? {} : {configured: params.configured}),
      origin: params.origin,
      release,
    })
    python = found.path
    explicit = found.via === 'configured'
  } catch (error) {
    if (!isPocketTtsError(error)) throw error
    // A configured interpreter that does not exist is always a failure: the user asked for it.
    const asked = params.configured !== undefined || (error.details as {origin?: string} | undefined)?.origin === info.pythonEnv
    return [
      {
        id,
        title,
        status: asked || required ? 'fail' : 'warn',
        detail: error.message,
        hint: info.base ? (error.hint ?? fix) : fix,
        required: asked || required,
      },
    ]
  }
  const modules: readonly PythonModuleName[] = info.base ? jobModules.all : LAYERED_MODULES
  let probe
  try {
    // the base is imported (catches broken installs); a layered venv is located only, which keeps doctor fast
    probe = await probePython({python, modules, release, mode: info.base ? 'import' : 'locate'})
  } catch (error) {
    if (!isPocketTtsError(error)) throw error
    return [{id, title, status: 'fail', detail: error.message, ...(error.hint ? {hint: error.hint} : {}), required: true}]
  }
  const checks: DoctorCheck[] = [
    {id, title, status: 'pass', detail: `${python} (Python ${probe.pythonVersion})`, required: required || explicit},
  ]
  for (const m of probe.modules) {
    const missing = m.version === null
    const moduleRequired = required || (explicit && info.base)
    checks.push({
      id: `${id}.${m.module}`,
      title: `  ${m.module}`,
      status: missing ? (moduleRequired ? 'fail' : 'warn') : m.matchesPin ? 'pass' : 'warn',
      detail: missing
        ? `missing (${(m.error ?? '').split('\n')[0]})`
        : m.matchesPin
          ? (m.version ?? '')
          : `${m.version} (project pins ${m.requirement})`,
      ...(missing || !m.matchesPin
        ? {hint: info.base ? `Run \`npm run setup:python\`, or: ${python} -m pip install '${m.requirement}'` : fix}
        : {}),
      required: moduleRequired,
    })
  }
  return checks
}
