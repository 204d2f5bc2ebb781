import {execa} from 'execa'
import {existsSync} from 'node:fs'
import {projectVenvPython} from '../../src/config/project-paths.js'

/** The project virtualenv's interpreter, used by tests as a numeric/text oracle (numpy, scipy, sentencepiece). */
export const VENV_PYTHON = projectVenvPython()
export const hasVenvPython = existsSync(VENV_PYTHON)

/** Runs a Python snippet with the project virtualenv and parses its stdout as JSON. */
export async function runPythonJson<T>(code: string, options: {input?: string; cwd?: string} = {}): Promise<T> {
  const result = await execa(VENV_PYTHON, ['-c', code], {
    input: options.input ?? '',
    ...(options.cwd === undefined ? {} : {cwd: options.cwd}),
    maxBuffer: 512 * 1024 * 1024,
  })
  return JSON.parse(result.stdout) as T
}
