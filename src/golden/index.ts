export * from './dump-golden.js'
export * from './dump-voice-golden.js'
