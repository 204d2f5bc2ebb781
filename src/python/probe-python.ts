import {execa} from 'execa'
import {PrerequisiteError} from '../errors/index.js'
import {SETUP_HINT} from './find-python.js'
import {moduleSpec, type PythonModuleName} from './python-modules.js'
import type {UpstreamRelease} from '../upstream/upstream-releases.js'

export interface ProbePythonParams {
  readonly python: string
  readonly modules: readonly PythonModuleName[]
  /** The upstream release the interpreter should run (pocket_tts's pin). @default the base release */
  readonly release?: UpstreamRelease
  /**
   * `import` imports each module (catches broken installs; importing torch and pocket_tts takes seconds);
   * `locate` only finds each module and reads its installed version (a fraction of a second), the check to run
   * before a job, which reports import failures itself. @default 'import'
   */
  readonly mode?: 'import' | 'locate'
  /** @default 60_000 ms (importing torch is slow on a cold disk) */
  readonly timeoutMs?: number
}

export interface ModuleStatus {
  readonly module: PythonModuleName
  readonly requirement: string
  /** Installed version, or null when the import failed. */
  readonly version: string | null
  /** The import error, when it failed. */
  readonly error?: string
  /** False when the project pins another version. */
  readonly matchesPin: boolean
}

export interface PythonProbe {
  readonly python: string
  readonly pythonVersion: string
  readonly modules: readonly ModuleStatus[]
}

// Imports each module in turn and reports its version; one JSON document on stdout.
const PROBE_SOURCE = `
import importlib, json, sys
out = {"python": sys.version.split()[0], "modules": {}}
for name in sys.argv[1:]:
    try:
        mod = importlib.import_module(name)
        ver = getattr(mod, "__version__", None)
        if ver is None:
            from importlib import metadata
            ver = metadata.version(name.replace("_", "-"))
        out["modules"][name] = {"version": str(ver)}
    except Exception as exc:
        out["modules"][name] = {"error": f"{type(exc).__name__}: {exc}"}
print(json.dumps(out))
`

// Finds each module without importing it and reads the installed distribution's version.
const LOCATE_SOURCE = `
import importlib.util, json, sys
from importlib import metadata
out = {"python": sys.version.split()[0], "modules": {}}
for name in sys.argv[1:]:
    try:
        if importlib.util.find_spec(name) is None:
            raise ModuleNotFoundError(f"No module named '{name}'")
        try:
            ver = metadata.version(name.replace("_", "-"))
        except metadata.PackageNotFoundError:
            ver = "unknown"
        out["modules"][name] = {"version": ver}
    except Exception as exc:
        out["modules"][name] = {"error": f"{type(exc).__name__}: {exc}"}
print(json.dumps(out))
`

/** Runs the interpreter once and reports the version of each module (null when missing). */
export async function probePython(params: ProbePythonParams): Promise<PythonProbe> {
  let stdout: string
  const source = params.mode === 'locate' ? LOCATE_SOURCE : PROBE_SOURCE
  try {
    const result = await execa(params.python, ['-c', source, ...params.modules], {
      timeout: params.timeoutMs ?? 60_000,
      env: {PYTHONWARNINGS: 'ignore'},
    })
    stdout = result.stdout
  } catch (error) {
    throw new PrerequisiteError({
      code: 'PYTHON_UNUSABLE',
      message: `The Python interpreter ${params.python} could not run: ${(error as {shortMessage?: string}).shortMessage ?? String(error)}`,
      hint: SETUP_HINT,
      cause: error,
    })
  }
  const parsed = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
    python: string
    modules: Record<string, {version?: string; error?: string}>
  }
  return {
    python: params.python,
    pythonVersion: parsed.python,
    modules: params.modules.map((name) => {
      const spec = moduleSpec(name, params.release)
      const entry = parsed.modules[name] ?? {error: 'not probed'}
      const version = entry.version ?? null
      const pinned = spec.pinned
      return {
        module: name,
        requirement: spec.requirement,
        version,
        ...(entry.error === undefined ? {} : {error: entry.error}),
        matchesPin: version !== null && (pinned === undefined || version.split('+')[0] === pinned),
      }
    }),
  }
}

/** Throws a typed error naming the fix when a needed module is missing. */
export function assertModulesPresent(probe: PythonProbe): void {
  const missing = probe.modules.filter((m) => m.version === null)
  if (missing.length === 0) return
  const names = missing.map((m) => m.module).join(', ')
  const reqs = missing.map((m) => `'${m.requirement}'`).join(' ')
  throw new PrerequisiteError({
    code: 'PYTHON_MODULE_MISSING',
    message: `The Python at ${probe.python} lacks ${missing.length === 1 ? 'module' : 'modules'} ${names}.`,
    hint:
      `Run \`npm run setup:python\` (creates one venv per pinned upstream release), or ` +
      `install into that interpreter: ${probe.python} -m pip install ${reqs}${missing.some((m) => m.module === 'torch') ? ' (install torch==2.13.0 first: a bare torch pulls a CUDA build)' : ''}.`,
    details: {python: probe.python, missing: missing.map((m) => ({module: m.module, error: m.error}))},
  })
}
