import type {DoctorCheck} from './doctor-check.js'

const MIN_NODE: readonly [number, number] = [20, 11]

/** Node version against the project's minimum. */
export function checkNode(version: string = process.versions.node): DoctorCheck {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  const ok = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1])
  return {
    id: 'node',
    title: 'Node.js',
    status: ok ? 'pass' : 'fail',
    detail: `v${version}${ok ? '' : ` (needs >= ${MIN_NODE.join('.')})`}`,
    ...(ok ? {} : {hint: `Install Node.js ${MIN_NODE.join('.')} or newer.`}),
    required: true,
  }
}

/** Loads the onnxruntime-node native binding and reports its version. */
export async function checkOnnxRuntime(required: boolean): Promise<DoctorCheck> {
  try {
    const ort = await import('onnxruntime-node')
    const backends = ort.env.versions
    return {id: 'onnxruntime', title: 'onnxruntime-node', status: 'pass', detail: `v${backends.node ?? backends.common} (CPU)`, required}
  } catch (error) {
    return {
      id: 'onnxruntime',
      title: 'onnxruntime-node',
      status: 'fail',
      detail: `binding does not load: ${(error as Error).message.split('\n')[0]}`,
      hint: 'Run `npm install` again (the project .npmrc skips the CUDA download; the CPU binding ships in the package).',
      required,
    }
  }
}
