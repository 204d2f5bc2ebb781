#!/usr/bin/env node
// Prints the table of numeric knob ranges (src/limits/knob-ranges.ts) as Markdown, for docs/limits-and-deployment.md.
// Build first: npm run build && node scripts/print-knob-table.mjs
import {knobTableMarkdown} from '../dist/src/limits/knob-ranges.js'

process.stdout.write(`${knobTableMarkdown()}\n`)
