"""Job: record a voice golden (``pockettts-golden/1``, ``kind: voice``) from upstream's voice-prompt path.

    python -m pockettts_tools.dump_voice --model DIR --prompt WAV --out DIR [--no-truncate] [--force]

Observes one ``get_state_for_audio_prompt(prompt, truncate=True)`` call (what ``pocket-tts export-voice`` runs):
the Mimi encoder's input and output and the conditioning FlowLM is prefilled with. The resulting voice state is
written beside the tensors as ``voice.safetensors`` with upstream's ``export_model_state``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .atomic_output import atomic_dir
from .golden_io import FORMAT, GoldenWriter, path_from, relative_or_absolute, source_info
from .job_args import JobArgumentParser
from .model_folder import inspect_model_folder, load_model_folder
from .protocol import JobError, progress, run_job
from .recording import VoiceRecorder
from .voices import check_prompt

TRUNCATE_SECONDS = 30
VOICE_STATE_FILE = "voice.safetensors"


def dump_voice(model_dir: Path, prompt: Path, out: Path, *, truncate: bool = True, force: bool = False) -> dict[str, Any]:
    from pocket_tts import export_model_state

    folder = inspect_model_folder(model_dir)
    prompt_path = check_prompt(prompt)
    progress("load", message=f"loading {folder.path} with upstream's loader")
    model = load_model_folder(folder)
    progress("encode", message=prompt_path.name)
    with VoiceRecorder(model) as recorder:
        try:
            state = model.get_state_for_audio_prompt(prompt_path, truncate=truncate)
        except ImportError as error:
            raise JobError("PROMPT_FORMAT_UNSUPPORTED", f"Upstream cannot read {prompt_path}: {error}", kind="prerequisite") from error
    if recorder.audio is None or recorder.mimi_latent is None or recorder.conditioning is None:
        raise RuntimeError("the voice-prompt path was not observed completely")
    progress("write", message=str(out))
    with atomic_dir(out, force=force) as staging:
        writer = GoldenWriter(staging)
        writer.add("audio", recorder.audio, "float32")
        writer.add("mimi_latent", recorder.mimi_latent, "float32")
        writer.add("conditioning", recorder.conditioning, "float32")
        export_model_state(state, staging / VOICE_STATE_FILE)
        writer.write_manifest(
            {
                "format": FORMAT,
                "kind": "voice",
                "source": source_info(),
                "prompt": relative_or_absolute(prompt_path, folder.path),
                "truncate_seconds": TRUNCATE_SECONDS if truncate else None,
                "voice_state": VOICE_STATE_FILE,
                "model": path_from(out, folder.path),
            }
        )
    positions = int(recorder.conditioning.shape[1])
    return {
        "out": str(out.absolute()),
        "frames": recorder.frames,
        "positions": positions,
        "voiceState": str(out.absolute() / VOICE_STATE_FILE),
    }


def main(argv: list[str]) -> dict[str, Any]:
    parser = JobArgumentParser(prog="dump_voice", description="Record a voice golden from upstream pocket_tts.")
    parser.add_argument("--model", required=True, type=Path, help="upstream-format model folder")
    parser.add_argument("--prompt", required=True, type=Path, help="voice prompt audio (.wav)")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--no-truncate", action="store_true", help=f"do not cut the prompt to {TRUNCATE_SECONDS} s (export-voice does)")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    args = parser.parse_args(argv)
    return dump_voice(args.model, args.prompt, args.out, truncate=not args.no_truncate, force=args.force)


if __name__ == "__main__":
    run_job(main)
