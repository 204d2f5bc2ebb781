#!/usr/bin/env node
// Summarizes alternating `pockettts bench --json` reports of one or more models run with and without a variant
// (the combined step graph: settings.stepWithHead): per model and variant, the median over the rounds of each
// report's medians, and the ratio of the two variants. Used by scripts/bench-small.sh.
//
//   node scripts/ab-summary.mjs REPORT.json...
import {readFileSync} from 'node:fs'
import {basename} from 'node:path'

const median = (values) => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const fixed = (v, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : '-')

const groups = new Map()
for (const file of process.argv.slice(2)) {
  const report = JSON.parse(readFileSync(file, 'utf8'))
  if (report.format !== 'pockettts-bench/1') throw new Error(`${file} is not a pockettts bench report`)
  const model = basename(report.model.dir)
  const variant = report.settings.stepWithHead === true ? 'one call' : 'two calls'
  const key = `${model}\t${variant}`
  const rows = groups.get(key) ?? []
  const s = report.summary
  rows.push({
    speed: s.speed.median,
    ttfa: s.timeToFirstAudioMs.median,
    step: s.msPerFrame.flowLm.median + s.msPerFrame.flowHead.median,
    wall: s.msPerFrame.wall.median,
    load: report.machine.loadAverage[0],
  })
  groups.set(key, rows)
}
const lines = [
  '| model | variant | rounds | speed (x real time) | first audio (ms) | FlowLM step + head (ms) | wall per frame (ms) | load (1 min) |',
]
lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |')
const byModel = new Map()
for (const [key, rows] of groups) {
  const [model, variant] = key.split('\t')
  const m = {
    speed: median(rows.map((r) => r.speed)),
    ttfa: median(rows.map((r) => r.ttfa)),
    step: median(rows.map((r) => r.step)),
    wall: median(rows.map((r) => r.wall)),
  }
  byModel.set(model, {...byModel.get(model), [variant]: m})
  const loads = rows.map((r) => fixed(r.load, 1)).join(', ')
  lines.push(
    `| ${model} | ${variant} | ${rows.length} | ${fixed(m.speed)} | ${fixed(m.ttfa, 1)} | ${fixed(m.step)} | ${fixed(m.wall)} | ${loads} |`,
  )
}
console.log(lines.join('\n'))
for (const [model, v] of byModel) {
  const one = v['one call']
  const two = v['two calls']
  if (one === undefined || two === undefined) continue
  console.log(
    `${model}: one call / two calls: speed x${fixed(one.speed / two.speed)}, step + head time x${fixed(one.step / two.step)}, ` +
      `wall per frame x${fixed(one.wall / two.wall)}, first audio x${fixed(one.ttfa / two.ttfa)}`,
  )
}
