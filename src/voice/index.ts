export * from './load-voice-state.js'
export * from './voice-state.js'
export * from './write-voice-state.js'
export * from './voice-aliases.js'
