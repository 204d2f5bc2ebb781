export * from './find-python.js'
export * from './python-modules.js'
export * from './probe-python.js'
export * from './run-python-job.js'
