export * from './pocket-tts-error.js'
export * from './error-classes.js'
export * from './format-error.js'
