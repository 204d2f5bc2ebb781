#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=65536 MALLOC_TRIM_THRESHOLD_=0 GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node --max-semi-space-size=1
// Entry point of the `pockettts` CLI: oclif finds the compiled commands in dist/commands.
// The shebang fixes glibc's mmap threshold and trims freed memory: without it glibc keeps the ~150 MB of buffers
// onnxruntime frees after loading a full-size model (peak RSS 772 -> 638 MB measured by `pockettts bench`).
// It also caps V8's young generation at 1 MB semi-spaces (default: grows to 16 MB, in each thread's isolate): the
// engine's live JS objects are few, and the grown young generations and the dead output buffers they wait to sweep
// kept ~30-40 MB more resident (bench peak RSS int8 410 -> 375-383 MB, fp32 639 -> 601 MB), speed unchanged.
// And it has glibc madvise its large blocks for transparent huge pages (where the kernel's THP mode is `madvise` or
// `always`): the weights onnxruntime streams every step then sit on 2 MB pages (full size: ~310 MB of them), fewer
// TLB misses, and the step reads them faster (bench, alternating: fp32 +4 %, int8 +10 %, 18m +6 %; peak RSS +6-20 MB).
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
