#!/usr/bin/env node
// Writes the generated parts of docs/ from their one source (npm run build first): docs/commands.md (every command's
// --help as oclif renders it) and the tolerance table of docs/parity.md (contracts/tolerances.json).
// `--check` exits 1 when a file is not current (test/cli/generated-docs.test.ts runs it).
import {Config, Help} from '@oclif/core'
import {existsSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** docs/commands.md: one section per command, its help text in a code block. */
export async function renderCommandReference() {
  const config = await Config.load({root})
  const help = new Help(config, {stripAnsi: true, maxWidth: 110})
  const commands = config.commands.filter((c) => !c.hidden).sort((a, b) => a.id.localeCompare(b.id))
  const sections = commands.map((command) => {
    const name = command.id.replaceAll(':', ' ')
    return `## \`pockettts ${name}\`\n\n\`\`\`text\n${help.formatCommand(command).trimEnd()}\n\`\`\`\n`
  })
  return [
    '# Command reference',
    '',
    "Generated from the commands' own `--help` by `npm run docs:generate` (`scripts/gen-docs.mjs`); do not edit.",
    'The guide with examples and explanations is [cli.md](cli.md).',
    '',
    ...sections,
  ].join('\n')
}

/** docs/parity.md with its tolerance table rendered from contracts/tolerances.json between the markers. */
export async function renderParityDoc() {
  const {describeTolerance} = await import(join(root, 'dist', 'src', 'parity', 'load-tolerances.js'))
  const contract = JSON.parse(readFileSync(join(root, 'contracts', 'tolerances.json'), 'utf8'))
  const rows = Object.entries(contract.checks).map(
    ([name, check]) => `| \`${name}\` | ${check.stage} | ${describeTolerance(check)} | ${check.why} |`,
  )
  const drift = `\nRelease-drift floor (\`drift\`, \`parity --cross-release\` only): max-abs ${contract.drift.floor.toExponential()}, ${contract.drift.why}.`
  const table = ['| check | stage | tolerance | why |', '| --- | --- | --- | --- |', ...rows, drift].join('\n')
  const doc = readFileSync(join(root, 'docs', 'parity.md'), 'utf8')
  return doc.replace(/(<!-- tolerances:begin[^\n]*-->\n)[\s\S]*?(<!-- tolerances:end -->)/, `$1${table}\n$2`)
}

/** docs/cli.md with its exit-code table rendered from contracts/exit-codes.json between the markers. */
export async function renderCliDoc() {
  const contract = JSON.parse(readFileSync(join(root, 'contracts', 'exit-codes.json'), 'utf8'))
  const rows = Object.entries(contract.exitCodes).map(([name, entry]) => `| ${entry.code} | \`${name}\` | ${entry.means} |`)
  const table = ['| exit code | name | means |', '| --- | --- | --- |', ...rows].join('\n')
  const doc = readFileSync(join(root, 'docs', 'cli.md'), 'utf8')
  return doc.replace(/(<!-- exit-codes:begin[^\n]*-->\n)[\s\S]*?(<!-- exit-codes:end -->)/, `$1${table}\n$2`)
}

const TARGETS = {'docs/commands.md': renderCommandReference, 'docs/parity.md': renderParityDoc, 'docs/cli.md': renderCliDoc}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let stale = 0
  for (const [file, render] of Object.entries(TARGETS)) {
    const path = join(root, file)
    const text = await render()
    const current = existsSync(path) ? readFileSync(path, 'utf8') : ''
    if (process.argv.includes('--check')) {
      if (current !== text) {
        console.error(`${file} is not current: run \`npm run docs:generate\`.`)
        stale += 1
      }
    } else if (current !== text) {
      writeFileSync(`${path}.tmp`, text)
      renameSync(`${path}.tmp`, path)
      console.log(`wrote ${file}`)
    }
  }
  process.exit(stale > 0 ? 1 : 0)
}
