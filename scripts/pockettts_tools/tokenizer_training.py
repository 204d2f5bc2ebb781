"""A small SentencePiece tokenizer for fixture models, trained deterministically from a corpus shipped here.

The real Pocket TTS tokenizer may not be committed, so fixtures use this one. It copies the real tokenizer's
settings as read from its model proto: unigram, byte fallback, identity normaliser (no NFKC),
``add_dummy_prefix`` on, ``remove_extra_whitespaces`` off, split digits, whitespace-only pieces allowed, pieces of at
most 6 characters, ids unk 0 / bos 1 / eos 2 / pad 3. Training runs on one thread over the corpus in file order and
writes the model through a memory buffer (so no file path ends up in the proto): same corpus, same bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

CORPUS = Path(__file__).parent / "data" / "tokenizer_corpus.txt"
DEFAULT_VOCAB_SIZE = 1000

# Trainer settings that shape the pieces; the remaining ones only make the run reproducible.
REAL_TOKENIZER_SETTINGS = {
    "model_type": "unigram",
    "byte_fallback": True,
    "normalization_rule_name": "identity",
    "add_dummy_prefix": True,
    "remove_extra_whitespaces": False,
    "split_digits": True,
    "allow_whitespace_only_pieces": True,
    "max_sentencepiece_length": 6,
    "character_coverage": 0.9995,
    "split_by_unicode_script": True,
    "split_by_whitespace": True,
    "split_by_number": True,
    "unk_id": 0,
    "bos_id": 1,
    "eos_id": 2,
    "pad_id": 3,
}


def train_tokenizer(vocab_size: int = DEFAULT_VOCAB_SIZE, corpus: Path = CORPUS) -> bytes:
    """Returns the serialized SentencePiece model (the bytes of a ``tokenizer.model``)."""
    import sentencepiece as spm

    sentences = [line for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=buffer,
        vocab_size=vocab_size,
        num_threads=1,
        shuffle_input_sentence=False,
        input_sentence_size=0,
        self_test_sample_size=0,
        minloglevel=2,
        **REAL_TOKENIZER_SETTINGS,
    )
    return buffer.getvalue()


def vocab_size_of(model_bytes: bytes) -> int:
    import sentencepiece as spm

    return int(spm.SentencePieceProcessor(model_proto=model_bytes).vocab_size())
