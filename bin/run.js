#!/usr/bin/env node
// Entry point of the `pockettts` CLI: oclif finds the compiled commands in dist/commands.
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
