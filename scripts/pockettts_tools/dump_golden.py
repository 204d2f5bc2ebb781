"""Job: record a synthesis golden (``pockettts-golden/1``) from upstream's unmodified ``generate_audio``.

    python -m pockettts_tools.dump_golden --model DIR --text TEXT [--voice FILE] --seed N --out DIR
        [--temperature T] [--sampler-decode-steps K] [--noise-clamp C] [--eos-threshold E]
        [--frames-after-eos F] [--max-tokens M] [--noise-tape GOLDEN_DIR] [--upstream RELEASE] [--force]

The model comes from an upstream-format folder (strict load with upstream's loader). The voice state is made
first (a ``.safetensors`` state draws no noise; a prompt WAV draws once), then ``torch.manual_seed(seed)`` and one
``generate_audio`` call, observed by hooks (see ``recording``). Unset temperature and EOS threshold are the
release's defaults (2.1.0: 0.7 and -4; 4.x: the config's). On 4.x, Mimi decodes frame by frame
(upstream's ``max_decoder_frames_per_call = 1``): its default batches whatever frames are queued when the decoder
thread wakes, which depends on thread timing (the two differ by < 1e-7), so one frame per call keeps a golden
reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .atomic_output import atomic_dir
from .golden_io import FORMAT, GoldenWriter, path_from, read_golden, relative_or_absolute, source_info
from .job_args import JobArgumentParser, finite_float, non_negative_float, non_negative_int, positive_float, positive_int
from .model_folder import GenerationSettings, inspect_model_folder, load_model_folder
from .protocol import JobError, progress, run_job
from .recording import NoiseTape, SynthesisRecorder
from .upstreams import is_v4
from .voices import check_prompt, check_voice_state, resolve_voice

DEFAULT_MAX_TOKENS = 50


@dataclass(frozen=True)
class SynthesisCase:
    text: str
    seed: int
    voice: str | None = None
    temperature: float | None = None
    lsd_decode_steps: int = 1  # upstream 4.x: sampler_decode_steps
    noise_clamp: float | None = None
    eos_threshold: float | None = None
    frames_after_eos: int | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS


def read_noise_tape(folder: Path) -> list[NoiseTape]:
    """A golden's noise tape: per chunk, ``prefill_noise`` then the rows of ``noise`` (FORMAT.md)."""
    golden = read_golden(folder)
    chunks = golden.manifest.get("chunks")
    if not chunks:
        raise JobError("NOT_A_SYNTHESIS_GOLDEN", f"{folder} is not a synthesis golden (no chunks), so it has no noise tape.", kind="usage")
    tape = []
    for c in range(len(chunks)):
        prefill = golden.tensor(f"chunk{c}.prefill_noise").reshape(1, -1)
        steps = golden.tensor(f"chunk{c}.noise").reshape(-1, prefill.shape[1])
        tape.append(np.concatenate([prefill, steps]).astype(np.float32))
    return tape


def dump_synthesis(
    model_dir: Path, case: SynthesisCase, out: Path, *, force: bool = False, noise_tape_dir: Path | None = None
) -> dict[str, Any]:
    """Records ``case`` on the model in ``model_dir`` into the golden folder ``out``; returns a summary."""
    import torch

    if case.text.strip() == "":
        raise JobError("EMPTY_TEXT", "The text is empty.", kind="usage", hint="Pass some text to speak with --text.")
    folder = inspect_model_folder(model_dir)
    voice_path = resolve_voice(folder, case.voice)
    tape = None if noise_tape_dir is None else read_noise_tape(noise_tape_dir)
    progress("load", message=f"loading {folder.path} with upstream's loader")
    settings = GenerationSettings(case.temperature, case.lsd_decode_steps, case.noise_clamp, case.eos_threshold)
    model = load_model_folder(folder, settings)
    _decode_frame_by_frame(model)
    if voice_path.suffix.lower() == ".safetensors":
        check_voice_state(model, voice_path)
    else:
        check_prompt(voice_path)
    progress("voice", message=voice_path.name)
    try:
        voice_state = model.get_state_for_audio_prompt(voice_path)
    except ImportError as error:
        raise JobError("VOICE_FORMAT_UNSUPPORTED", f"Upstream cannot read {voice_path}: {error}", kind="prerequisite") from error

    recorder = SynthesisRecorder(model, noise_tape=tape, on_chunk=lambda index, text: progress("chunk", index + 1, None, text))
    torch.manual_seed(case.seed)
    with recorder:
        audio = model.generate_audio(voice_state, case.text, max_tokens=case.max_tokens, frames_after_eos=case.frames_after_eos)
    if tape is not None and len(tape) != len(recorder.chunks):
        raise JobError("NOISE_TAPE_MISMATCH", f"The noise tape has {len(tape)} chunks; this run has {len(recorder.chunks)}.", kind="usage")

    progress("write", message=str(out))
    with atomic_dir(out, force=force) as staging:
        writer = GoldenWriter(staging)
        chunks = []
        for c, chunk in enumerate(recorder.chunks):
            for name, (array, dtype) in chunk.tensors().items():
                writer.add(f"chunk{c}.{name}", array, dtype)
            chunks.append(chunk.summary())
        total = audio.detach().numpy().reshape(-1)
        joined = np.concatenate([chunk.tensors()["audio"][0] for chunk in recorder.chunks])
        if not np.array_equal(total, joined):
            raise RuntimeError("the decoded frames do not add up to generate_audio's output")
        writer.add("audio", total, "float32")
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "source": source_info(),
            "case": {
                "text": case.text,
                "seed": case.seed,
                "voice": relative_or_absolute(voice_path, folder.path),
                "temperature": float(model.temp),
                _decode_steps_key(): case.lsd_decode_steps,
                "noise_clamp": case.noise_clamp,
                "eos_threshold": float(model.eos_threshold),
                "frames_after_eos": case.frames_after_eos,
                "max_tokens": case.max_tokens,
            },
            "model": path_from(out, folder.path),
            "noise_tape": None if noise_tape_dir is None else path_from(out, noise_tape_dir),
            "chunks": chunks,
        }
        writer.write_manifest(manifest)
    return {
        "out": str(out.absolute()),
        "chunks": chunks,
        "samples": int(total.size),
        "seconds": total.size / model.sample_rate,
        "tensors": len(writer.tensors),
    }


def _decode_frame_by_frame(model: Any) -> None:
    """4.x: one Mimi decode call per latent frame (see the module docstring); 2.1.0 always decodes so."""
    if is_v4():
        model.max_decoder_frames_per_call = 1


def _decode_steps_key() -> str:
    """The case key of the sampler's decode steps: upstream's own name in each release."""
    return "sampler_decode_steps" if is_v4() else "lsd_decode_steps"


def main(argv: list[str]) -> dict[str, Any]:
    parser = JobArgumentParser(prog="dump_golden", description="Record a synthesis golden from upstream pocket_tts.")
    parser.add_argument("--model", required=True, type=Path, help="upstream-format model folder")
    parser.add_argument("--text", required=True)
    parser.add_argument("--voice", help="voice state .safetensors or prompt .wav (default: MODEL/voice.safetensors)")
    parser.add_argument("--seed", required=True, type=int)
    parser.add_argument("--temperature", type=non_negative_float, default=None, help="default: 0.7 (2.1.0), the config's (4.x)")
    parser.add_argument("--sampler-decode-steps", "--lsd-decode-steps", dest="decode_steps", type=positive_int, default=1)
    parser.add_argument("--noise-clamp", type=positive_float, default=None)
    parser.add_argument("--eos-threshold", type=finite_float, default=None, help="default: -4 (2.1.0), the config's (4.x)")
    parser.add_argument("--frames-after-eos", type=non_negative_int, default=None)
    parser.add_argument("--max-tokens", type=positive_int, default=DEFAULT_MAX_TOKENS)
    parser.add_argument("--noise-tape", type=Path, default=None, help="golden folder whose recorded noise replaces the draws")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    args = parser.parse_args(argv)
    case = SynthesisCase(
        text=args.text,
        seed=args.seed,
        voice=args.voice,
        temperature=args.temperature,
        lsd_decode_steps=args.decode_steps,
        noise_clamp=args.noise_clamp,
        eos_threshold=args.eos_threshold,
        frames_after_eos=args.frames_after_eos,
        max_tokens=args.max_tokens,
    )
    return dump_synthesis(args.model, case, args.out, force=args.force, noise_tape_dir=args.noise_tape)


if __name__ == "__main__":
    run_job(main)
