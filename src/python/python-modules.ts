import {UPSTREAM_TORCH, baseRelease, type UpstreamRelease} from '../upstream/upstream-releases.js'

/** A Python module the tooling needs, with the pip requirement that provides it. */
export interface PythonModuleSpec {
  /** Import name. */
  readonly module: string
  /** What to `pip install`, pinned as in scripts/requirements.txt. */
  readonly requirement: string
  /** Exact version the project pins, when it pins one; other versions are a warning. */
  readonly pinned?: string
}

/** Modules of the Python tooling, in the order doctor shows them. */
export const pythonModules = {
  torch: {module: 'torch', requirement: `torch==${UPSTREAM_TORCH}`, pinned: UPSTREAM_TORCH},
  // pinned per release (contracts/upstreams.json): see moduleSpec
  pocket_tts: {module: 'pocket_tts', requirement: 'pocket-tts'},
  onnx: {module: 'onnx', requirement: 'onnx'},
  onnxruntime: {module: 'onnxruntime', requirement: 'onnxruntime'},
  numpy: {module: 'numpy', requirement: 'numpy'},
  safetensors: {module: 'safetensors', requirement: 'safetensors'},
  sentencepiece: {module: 'sentencepiece', requirement: 'sentencepiece'},
  jsonschema: {module: 'jsonschema', requirement: 'jsonschema==4.25.1'},
} as const satisfies Record<string, PythonModuleSpec>

export type PythonModuleName = keyof typeof pythonModules

/** A module's spec for the venv of one upstream release: pocket_tts pinned to that release. @default the base release */
export function moduleSpec(name: PythonModuleName, release: UpstreamRelease = baseRelease()): PythonModuleSpec {
  if (name === 'pocket_tts') return {module: 'pocket_tts', requirement: `pocket-tts==${release}`, pinned: release}
  return pythonModules[name]
}

/** The modules each Python job imports. */
export const jobModules = {
  fixture: ['torch', 'pocket_tts', 'numpy', 'safetensors', 'sentencepiece'],
  golden: ['torch', 'pocket_tts', 'numpy', 'safetensors'],
  voice: ['torch', 'pocket_tts'],
  export: ['torch', 'pocket_tts', 'onnx', 'onnxruntime', 'numpy', 'safetensors', 'jsonschema'],
  all: ['torch', 'pocket_tts', 'onnx', 'onnxruntime', 'numpy', 'safetensors', 'sentencepiece', 'jsonschema'],
} as const satisfies Record<string, readonly PythonModuleName[]>

export type PythonJobKind = keyof typeof jobModules
