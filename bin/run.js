#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=65536 MALLOC_TRIM_THRESHOLD_=0 node
// Entry point of the `pockettts` CLI: oclif finds the compiled commands in dist/commands.
// The shebang fixes glibc's mmap threshold and trims freed memory: without it glibc keeps the ~150 MB of buffers
// onnxruntime frees after loading a full-size model (peak RSS 772 -> 638 MB measured by `pockettts bench`).
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
