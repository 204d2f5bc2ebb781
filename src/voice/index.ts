export * from './export-voice.js'
