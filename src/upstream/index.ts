export * from './assert-upstream-model-folder.js'
export * from './assert-input-file.js'
export * from './config-file-names.js'
export * from './upstream-releases.js'
