"""A deterministic, speech-like voice prompt for fixtures (24 kHz, 16-bit mono WAV), made with numpy.

Not speech, but shaped like it, so the Mimi encoder sees realistic input: a glottal-like harmonic source with a
falling, accented pitch contour, vowel formants that change per syllable, syllable envelopes, short fricative
noise bursts and pauses between words. Choices come from Python's seeded Mersenne Twister (stable across Python
versions); the signal is quantised to int16, so it does not depend on the last bits of the maths library.
"""

from __future__ import annotations

import random
import wave
from pathlib import Path

import numpy as np

SAMPLE_RATE = 24000

# (F1, F2, F3) in Hz of a few vowels.
_VOWELS = [
    (730, 1090, 2440),
    (270, 2290, 3010),
    (300, 870, 2240),
    (530, 1840, 2480),
    (570, 840, 2410),
    (440, 1020, 2240),
    (660, 1720, 2410),
]


def synthesize_prompt(seconds: float, seed: int) -> np.ndarray:
    """Returns int16 samples at 24 kHz."""
    rnd = random.Random(seed)
    n = int(round(seconds * SAMPLE_RATE))
    t = np.arange(n) / SAMPLE_RATE

    # Syllable plan: (start, length, vowel, accent, onset noise) with pauses between "words".
    syllables: list[tuple[int, int, int, float, bool]] = []
    position = int(0.12 * SAMPLE_RATE)
    while position < n - int(0.25 * SAMPLE_RATE):
        for _ in range(1 + rnd.randrange(3)):
            length = int((0.14 + 0.12 * rnd.random()) * SAMPLE_RATE)
            if position + length > n - int(0.1 * SAMPLE_RATE):
                break
            syllables.append((position, length, rnd.randrange(len(_VOWELS)), rnd.random(), rnd.random() < 0.5))
            position += length
        position += int((0.06 + 0.18 * rnd.random()) * SAMPLE_RATE)

    # Pitch: declining base with an accent bump per syllable.
    f0 = 135.0 - 25.0 * t / max(seconds, 1e-9)
    envelope = np.zeros(n)
    formants = np.zeros((n, 3))
    formants[:] = _VOWELS[0]
    noise_gate = np.zeros(n)
    for start, length, vowel, accent, noisy in syllables:
        stop = start + length
        local = np.linspace(0.0, 1.0, length, endpoint=False)
        envelope[start:stop] = np.sin(np.pi * local) ** 0.6
        f0[start:stop] += 30.0 * accent * np.sin(np.pi * local)
        target = np.array(_VOWELS[vowel], dtype=np.float64)
        previous = formants[start - 1] if start > 0 else target
        glide = np.minimum(local / 0.3, 1.0)[:, None]
        formants[start:stop] = previous + (target - previous) * glide
        if noisy:
            burst = min(int(0.05 * SAMPLE_RATE), length)
            noise_gate[start : start + burst] = np.linspace(1.0, 0.0, burst)

    # Harmonic source shaped by the formants (a resonance per formant) and a -6 dB/octave tilt.
    phase = 2.0 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    voiced = np.zeros(n)
    for k in range(1, 40):
        frequency = k * f0
        gain = np.zeros(n)
        for j, bandwidth in enumerate((90.0, 110.0, 170.0)):
            gain += 1.0 / (1.0 + ((frequency - formants[:, j]) / bandwidth) ** 2)
        gain *= (frequency < 0.45 * SAMPLE_RATE) / k
        voiced += gain * np.sin(k * phase)

    noise = np.array([rnd.random() - 0.5 for _ in range(n)])
    hiss = noise - np.concatenate([[0.0], noise[:-1]])  # first difference: a bright, fricative-like noise
    signal = voiced * envelope + 0.6 * hiss * noise_gate + 0.002 * noise
    signal *= 0.5 / np.max(np.abs(signal))
    return np.round(signal * 32767.0).astype(np.int16)


def write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SAMPLE_RATE)
        handle.writeframes(samples.astype("<i2").tobytes())
