export * from './assert-upstream-model-folder.js'
export * from './assert-input-file.js'
