export * from './golden-types.js'
export * from './read-golden.js'
