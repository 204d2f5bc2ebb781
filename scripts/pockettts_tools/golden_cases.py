"""The committed goldens of the embedded fixture model (``fixtures/tiny`` -> ``golden/<case>``)."""

from __future__ import annotations

from .dump_golden import SynthesisCase

FIXTURE_PRESET = "tiny"
FIXTURE_SEED = 0

# Seeds are picked so that EOS fires mid-utterance (the fixture's EOS head is random) and the files stay small;
# `temp0` never fires EOS and runs to max_gen_len on purpose.
SYNTHESIS_CASES: dict[str, SynthesisCase] = {
    "hello": SynthesisCase(text="Hello world. This is a small test of the pocket speech model.", seed=15),
    "short": SynthesisCase(text="Yes, of course.", seed=5),
    "long": SynthesisCase(
        text=(
            "First sentence is short. Second one is a little bit longer than the first. "
            "The third sentence is the one that no longer fits, so the text is spoken in two chunks."
        ),
        seed=16,
    ),
    "lsd4": SynthesisCase(text="Four decode steps with clamped noise.", seed=15, temperature=0.5, lsd_decode_steps=4, noise_clamp=1.5),
    "temp0": SynthesisCase(text="Hi there.", seed=0, temperature=0.0),
}

# The voice case: the fixture's prompt through upstream's voice-prompt path.
VOICE_CASE = "voice"
