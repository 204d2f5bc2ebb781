/** The default benchmark text: 16 tokens with the English tokenizer, upstream's max_gen_len 92 frames. */
export const DEFAULT_BENCH_TEXT = 'The quick brown fox jumps over the lazy dog.'
