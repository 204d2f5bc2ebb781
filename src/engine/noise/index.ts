export * from './noise-source.js'
export * from './seeded-normal-noise.js'
export * from './xoshiro128ss.js'
