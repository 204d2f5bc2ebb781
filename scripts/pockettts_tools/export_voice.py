"""Job: export a voice state with upstream's own ``pocket-tts export-voice`` command.

    python -m pockettts_tools.export_voice --model DIR --prompt AUDIO --out FILE.safetensors [--force]

Runs ``python -m pocket_tts export-voice PROMPT OUT --config CONFIG`` with this interpreter, CONFIG being the model
folder's config naming its local files by absolute path (``model_folder.local_config_file``), so the file is
upstream's own. Inputs are checked first so that common mistakes get a clear error instead of upstream's traceback; the file
is written beside the target and renamed into place only when upstream succeeded and the file reads back.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from .atomic_output import atomic_file, make_parent
from .job_args import JobArgumentParser
from .model_folder import inspect_model_folder, local_config_file
from .protocol import JobError, progress, run_job
from .voices import check_prompt

STDERR_TAIL = 12


def export_voice(model_dir: Path, prompt: Path, out: Path, *, force: bool = False) -> dict[str, Any]:
    prompt_path = check_prompt(prompt)
    target = out.absolute()
    if target.suffix != ".safetensors":
        raise JobError(
            "OUTPUT_NOT_SAFETENSORS",
            f"{target} must end in .safetensors (upstream writes a safetensors voice state).",
            kind="usage",
            hint="Name the output FILE.safetensors.",
        )
    if target.is_dir():
        raise JobError("OUTPUT_NOT_A_FILE", f"{target} is a folder.", kind="usage", hint="Pass a file path ending in .safetensors.")
    if target.exists() and not force:
        raise JobError(
            "OUTPUT_EXISTS", f"{target} already exists.", kind="usage", hint="Pass --force to replace it, or choose another output path."
        )
    make_parent(target)
    folder = inspect_model_folder(model_dir)

    with atomic_file(target) as staging, local_config_file(folder) as config_path:
        command = [sys.executable, "-m", "pocket_tts", "export-voice", str(prompt_path), str(staging), "--config", str(config_path)]
        progress("export", message=f"upstream pocket-tts export-voice {prompt_path.name}")
        stderr = _run_upstream(command, cwd=folder.path)
        positions = _check_voice_file(staging)
    return {
        "out": str(target),
        "prompt": str(prompt_path),
        "positions": positions,
        "bytes": target.stat().st_size,
        "upstreamLog": stderr.splitlines()[-STDERR_TAIL:],
    }


def _run_upstream(command: list[str], *, cwd: Path) -> str:
    """Runs upstream's CLI; its log lines are forwarded as plain log lines; a failure becomes a JobError."""
    child = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        child.terminate()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        stdout, stderr = child.communicate()
    except BaseException:
        child.kill()
        child.wait()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    for line in (stdout + stderr).splitlines():
        if line.strip():
            print(f"pocket-tts: {line}", flush=True)
    if child.returncode != 0:
        reason = _last_error_line(stderr) or f"exit code {child.returncode}"
        raise JobError(
            "UPSTREAM_EXPORT_FAILED",
            f"Upstream `pocket-tts export-voice` failed: {reason}",
            kind="runtime",
            hint="Run with --verbose to see upstream's full output.",
        )
    return stderr


def _last_error_line(stderr: str) -> str | None:
    lines = [line.strip(" │╰╯─") for line in stderr.splitlines()]
    lines = [line for line in lines if line]
    for line in reversed(lines):
        if "Error" in line or "Exception" in line:
            return line
    return lines[-1] if lines else None


def _check_voice_file(path: Path) -> int:
    from safetensors import safe_open

    if not path.is_file():
        raise JobError("UPSTREAM_EXPORT_FAILED", "Upstream `pocket-tts export-voice` exited without writing a file.", kind="runtime")
    with safe_open(str(path), framework="pt") as handle:
        offsets = [handle.get_tensor(key) for key in handle.keys() if key.endswith("/offset")]
    if not offsets:
        raise JobError("UPSTREAM_EXPORT_FAILED", f"Upstream wrote {path} without any layer offset.", kind="runtime")
    return int(offsets[0].view(-1)[0].item())


def main(argv: list[str]) -> dict[str, Any]:
    parser = JobArgumentParser(prog="export_voice", description="Export a voice state with upstream's pocket-tts export-voice.")
    parser.add_argument("--model", required=True, type=Path, help="upstream-format model folder")
    parser.add_argument("--prompt", required=True, type=Path, help="voice prompt audio (.wav)")
    parser.add_argument("--out", required=True, type=Path, help="voice state to write (.safetensors)")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    args = parser.parse_args(argv)
    return export_voice(args.model, args.prompt, args.out, force=args.force)


if __name__ == "__main__":
    run_job(main)
