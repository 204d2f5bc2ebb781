/**
 * The layering of src/ and commands/, checked by `npx depcruise src commands` (test/layering/dependency-rules.test.ts
 * runs it in CI). Type-only imports count too (tsPreCompilationDeps): a type cycle or a type reaching into the
 * Python layer is a layering fault even though tsc erases it, so "reachable" below is a superset of what Node
 * loads. What Node really loads for synth and serve is checked in a fresh process by
 * test/layering/runtime-without-python.test.ts.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No module of src/ or commands/ may import itself again through other modules.',
      from: {path: '^(src|commands)/'},
      to: {circular: true},
    },
    {
      name: 'runtime-without-python',
      severity: 'error',
      comment:
        'The no-Python runtime (engine, FlowLM, Mimi, onnx, text, audio, voice; the server, batch and the synth, serve, batch and worker commands on top) must not reach the Python job runner (src/python, execa), not even through other modules.',
      from: {path: ['^src/(engine|flowlm|mimi|onnx|text|audio|voice|server|batch)/', '^commands/(synth|serve|batch|worker)\\.ts$']},
      to: {path: ['^src/python/', '^node_modules/execa/'], reachable: true},
    },
    {
      name: 'library-not-cli',
      severity: 'error',
      comment: 'The CLI (src/cli, commands/) depends on the library, never the reverse.',
      from: {path: '^src/', pathNot: '^src/cli/'},
      to: {path: '^(src/cli|commands)/'},
    },
  ],
  options: {
    doNotFollow: {path: 'node_modules'},
    tsConfig: {fileName: 'tsconfig.json'},
    tsPreCompilationDeps: true,
  },
}
