export * from './base-command.js'
export * from './render-table.js'
export * from './progress-reporter.js'
export * from './download-progress.js'
