export * from './compare-tensors.js'
export * from './npy.js'
export * from './tensor-metrics.js'
export * from './tolerance.js'
