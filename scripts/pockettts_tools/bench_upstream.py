"""Job: time upstream pocket_tts's own generation loop (the baseline of ``pockettts bench --against python``).

    python -m pockettts_tools.bench_upstream --model DIR --voice FILE --text TEXT [--frames N] [--runs N]
        [--warmup N] [--quantize]

Loads the upstream-format model folder with upstream's loader (``TTSModel.load_model``, ``quantize=`` as
upstream's ``--quantize``), loads the voice with ``get_state_for_audio_prompt`` and times
``generate_audio_stream`` as a user would call it: upstream's text split, its generator thread and its Mimi
decoder thread, torch's threads as upstream sets them at import (one per Python thread). Time to first audio is
measured from the call to the first chunk, the total to the last one; the voice is loaded before the clock starts.

``--frames N`` makes every chunk exactly N frames so that random-weight models are comparable: the EOS threshold
is set to +inf at load (a load-time setting of upstream) and the instance's ``_estimate_max_gen_len`` returns N,
so upstream's own loop runs N steps and stops at its maximum length. Nothing else is replaced.
"""

from __future__ import annotations

import math
import resource
import time
from pathlib import Path
from typing import Any

from .job_args import JobArgumentParser, non_negative_int, positive_int
from .model_folder import inspect_model_folder, local_config_file
from .protocol import JobError, progress, run_job


def _default_eos() -> float | None:
    """The EOS threshold of an unfixed run: 2.1.0's -4; on 4.x None, the config's default_eos_threshold."""
    from .upstreams import is_v4

    return None if is_v4() else -4.0


def _load(model_dir: Path, quantize: bool, fixed_frames: int | None) -> Any:
    from pocket_tts import TTSModel

    folder = inspect_model_folder(model_dir)
    with local_config_file(folder) as config_path:
        model = TTSModel.load_model(
            config=config_path, quantize=quantize, eos_threshold=math.inf if fixed_frames is not None else _default_eos()
        )
    if fixed_frames is not None:
        model._estimate_max_gen_len = lambda _token_count: fixed_frames  # noqa: SLF001 - per-instance length, see module doc
    return model


def _quantize_backend(quantize: bool) -> str | None:
    if not quantize:
        return None
    from pocket_tts.quantization import _get_backend  # noqa: PLC2701 - report which backend upstream picked

    return str(_get_backend())


def _frame_samples(model: Any) -> int:
    """Samples per latent frame (1920 at 24 kHz and 12.5 Hz): 4.x's decoder thread yields several frames per chunk."""
    return round(model.sample_rate / model.config.mimi.frame_rate)


def _one_run(model: Any, state: Any, text: str) -> dict[str, Any]:
    start = time.perf_counter()
    first: float | None = None
    samples = 0
    for chunk in model.generate_audio_stream(state, text):
        if first is None:
            first = time.perf_counter() - start
        samples += int(chunk.shape[-1])
    elapsed = time.perf_counter() - start
    audio_seconds = samples / model.sample_rate
    return {
        "elapsedMs": elapsed * 1000,
        "timeToFirstAudioMs": None if first is None else first * 1000,
        "frames": samples // _frame_samples(model),
        "audioSeconds": audio_seconds,
        "realTimeFactor": elapsed / audio_seconds if audio_seconds > 0 else None,
        "speed": audio_seconds / elapsed if elapsed > 0 else None,
    }


def bench_upstream(
    model_dir: Path, voice: Path, text: str, *, fixed_frames: int | None, runs: int, warmup: int, quantize: bool
) -> dict[str, Any]:
    from importlib.metadata import version

    import torch

    if not voice.is_file():
        raise JobError(
            "VOICE_NOT_FOUND", f"The voice file {voice} does not exist.", kind="usage", hint="Pass a voice .safetensors or .wav file."
        )
    progress("load", 1, 3, f"loading {model_dir} with upstream's loader{' (quantize=True)' if quantize else ''}")
    model = _load(model_dir, quantize, fixed_frames)
    progress("voice", 2, 3, f"voice {voice}")
    state = model.get_state_for_audio_prompt(voice.absolute())
    results = []
    for index in range(warmup + runs):
        measured = index >= warmup
        progress("run", index + 1, warmup + runs, "measured run" if measured else "warm-up run")
        run = _one_run(model, state, text)
        if measured:
            results.append(run)
    return {
        "runs": results,
        "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6,
        "quantize": quantize,
        "quantizeBackend": _quantize_backend(quantize),
        "torchThreads": torch.get_num_threads(),
        "fixedFrames": fixed_frames,
        "versions": {"pocket_tts": version("pocket-tts"), "torch": torch.__version__},
    }


def main(argv: list[str]) -> dict[str, Any]:
    parser = JobArgumentParser(prog="bench_upstream", description="Time upstream pocket_tts's own generation loop.")
    parser.add_argument("--model", required=True, type=Path, help="upstream-format model folder (config.yaml + weights + tokenizer)")
    parser.add_argument("--voice", required=True, type=Path, help="voice .safetensors state or .wav prompt")
    parser.add_argument("--text", required=True)
    parser.add_argument("--frames", type=positive_int, default=None, help="exactly N frames per chunk, EOS ignored")
    parser.add_argument("--runs", type=positive_int, default=3)
    parser.add_argument("--warmup", type=non_negative_int, default=1)
    parser.add_argument("--quantize", action="store_true", help="upstream's int8 mode (load_model(quantize=True))")
    args = parser.parse_args(argv)
    if not args.text.strip():
        raise JobError("TEXT_EMPTY", "The text is empty.", kind="usage", hint="Pass a non-empty --text.")
    return bench_upstream(
        args.model, args.voice, args.text, fixed_frames=args.frames, runs=args.runs, warmup=args.warmup, quantize=args.quantize
    )


if __name__ == "__main__":
    run_job(main)
