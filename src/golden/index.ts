export * from './golden-types.js'
export * from './read-golden.js'
export * from './dump-golden.js'
export * from './dump-voice-golden.js'
