#!/usr/bin/env node
// Writes docs/commands.md: every command's --help as oclif renders it, from the built commands (npm run build first).
// `--check` exits 1 when the file is not current (test/cli/command-reference.test.ts runs it).
import {Config, Help} from '@oclif/core'
import {readFileSync, renameSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const target = join(root, 'docs', 'commands.md')

/** The reference as markdown: one section per command, its help text in a code block. */
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
    'Generated from the commands\' own `--help` by `npm run docs:commands` (`scripts/gen-command-reference.mjs`); do not',
    'edit. The guide with examples and explanations is [cli.md](cli.md).',
    '',
    ...sections,
  ].join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = await renderCommandReference()
  if (process.argv.includes('--check')) {
    let current = ''
    try {
      current = readFileSync(target, 'utf8')
    } catch {}
    if (current !== text) {
      console.error('docs/commands.md is not current: run `npm run docs:commands`.')
      process.exit(1)
    }
  } else {
    writeFileSync(`${target}.tmp`, text)
    renameSync(`${target}.tmp`, target)
    console.log(`wrote ${target.slice(root.length + 1)} (${text.length} bytes)`)
  }
}
