import type * as ort from 'onnxruntime-node'
import {ModelError} from '../errors/index.js'

export type Feeds = Record<string, ort.Tensor>
export type Results = Record<string, ort.Tensor>

/**
 * Runs one graph after checking that every input it declares is fed; a runtime failure becomes a
 * ModelError that lists each fed tensor's dtype and dims.
 */
export async function runGraph(name: string, session: ort.InferenceSession, feeds: Feeds, fetches?: readonly string[]): Promise<Results> {
  const missing = session.inputNames.filter((input) => !(input in feeds))
  if (missing.length > 0) {
    throw new ModelError({
      code: 'GRAPH_INPUT_MISSING',
      message: `Graph ${name} was not fed its input(s) ${missing.join(', ')}.`,
      hint: 'The model folder does not match this version of pockettts: export it again with `pockettts model export`.',
      details: {graph: name, missing},
    })
  }
  try {
    return (fetches === undefined ? await session.run(feeds) : await session.run(feeds, [...fetches])) as Results
  } catch (error) {
    const shapes = Object.entries(feeds).map(([k, t]) => `${k}: ${t.type}[${t.dims.join(',')}]`)
    throw new ModelError({
      code: 'GRAPH_RUN_FAILED',
      message: `Graph ${name} failed: ${(error as Error).message.split('\n')[0]} (inputs ${shapes.join('; ')})`,
      hint: 'Run `pockettts model verify DIR`; if it passes, report this with --verbose output.',
      details: {graph: name, inputs: shapes},
      cause: error,
    })
  }
}
