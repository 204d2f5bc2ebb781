export * from './config-schema.js'
export * from './resolve-config.js'
export * from './project-paths.js'
