export * from './doctor-check.js'
export * from './run-doctor.js'
