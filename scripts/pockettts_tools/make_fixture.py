"""Job: write a random-weight model folder in the upstream format, built with upstream's own constructors.

    python -m pockettts_tools.make_fixture --preset NAME --out DIR [--seed N] [--tokenizer FILE] [--upstream RELEASE] [--force]

(presets: contracts/fixture-presets.json; a 4.x preset is built from the config file of the running 4.x wheel)

The folder holds ``config.yaml`` (upstream's schema), ``model.safetensors`` (upstream key names, float32),
``tokenizer.model`` (trained here unless ``--tokenizer`` is given), ``voice_prompt.wav`` (synthetic speech-like
signal), ``voice.safetensors`` (upstream ``get_state_for_audio_prompt(..., truncate=True)`` + ``export_model_state``)
and ``fixture.json`` (how it was made). Weights come from PyTorch's own initialisation in upstream's constructors
under ``torch.manual_seed(seed)``; a few buffers are then set so the model behaves like a TTS model (latent
statistics, speaker projection, an EOS head that fires mid-utterance). Same seed, same bytes on the same CPU type (other CPUs
change the last bits of some floats); the folder is loaded
back with upstream's strict loader before it is kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .atomic_output import atomic_dir
from .fixture_presets import PRESETS, FixturePreset, preset_config
from .job_args import JobArgumentParser, non_negative_int
from .model_folder import CONFIG_FILE, build_unloaded_model, inspect_model_folder, load_model_folder, working_directory
from .protocol import JobError, progress, run_job
from .tokenizer_training import train_tokenizer, vocab_size_of
from .upstreams import running_release
from .voice_prompt import synthesize_prompt, write_wav

WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.model"
PROMPT_FILE = "voice_prompt.wav"
VOICE_FILE = "voice.safetensors"
INFO_FILE = "fixture.json"


def make_fixture(preset_name: str, out: Path, *, seed: int = 0, tokenizer: Path | None = None, force: bool = False) -> dict[str, Any]:
    preset = PRESETS.get(preset_name)
    if preset is None:
        raise JobError("UNKNOWN_PRESET", f"Unknown preset {preset_name!r}.", kind="usage", hint=f"Use one of: {', '.join(PRESETS)}.")
    with atomic_dir(out, force=force) as staging:
        progress("tokenizer", 1, 5, "copying the given tokenizer" if tokenizer is not None else "training a small SentencePiece tokenizer")
        model_bytes = _tokenizer_bytes(tokenizer)
        (staging / TOKENIZER_FILE).write_bytes(model_bytes)
        n_bins = vocab_size_of(model_bytes)
        _write_config(staging / CONFIG_FILE, preset, n_bins, seed)

        progress("weights", 2, 5, f"building the {preset.name} model with upstream's constructors (seed {seed})")
        parameters = _write_weights(staging, preset, seed)

        progress("load", 3, 5, "loading it back with upstream's strict loader")
        model = load_model_folder(inspect_model_folder(staging))

        progress("voice", 4, 5, "writing the voice prompt and exporting its voice state")
        from pocket_tts import export_model_state

        write_wav(staging / PROMPT_FILE, synthesize_prompt(preset.prompt_seconds, seed))
        state = model.get_state_for_audio_prompt(staging / PROMPT_FILE, truncate=True)
        export_model_state(state, staging / VOICE_FILE)
        positions = int(next(iter(state.values()))["offset"].view(-1)[0].item())

        progress("write", 5, 5, str(out))
        info = {
            "preset": preset.name,
            "description": preset.description,
            "seed": seed,
            "parameters": parameters,
            "n_bins": n_bins,
            "tokenizer": "given" if tokenizer is not None else "trained by pockettts_tools.tokenizer_training",
            "voice_positions": positions,
            "upstream": running_release(),
            "made_with": _versions(),
        }
        import json

        (staging / INFO_FILE).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    files = sorted(p.name for p in out.iterdir())
    return {
        "out": str(out.absolute()),
        "preset": preset.name,
        "seed": seed,
        "parameters": parameters,
        "nBins": n_bins,
        "voicePositions": positions,
        "files": files,
        "bytes": sum(p.stat().st_size for p in out.iterdir()),
    }


def _tokenizer_bytes(tokenizer: Path | None) -> bytes:
    if tokenizer is None:
        return train_tokenizer()
    path = tokenizer.absolute()
    if not path.is_file():
        raise JobError(
            "TOKENIZER_NOT_FOUND", f"The tokenizer {path} does not exist.", kind="usage", hint="Pass a SentencePiece .model file."
        )
    data = path.read_bytes()
    try:
        vocab_size_of(data)
    except Exception as error:  # noqa: BLE001 - sentencepiece raises plain RuntimeError/OSError variants
        raise JobError("TOKENIZER_INVALID", f"{path} is not a SentencePiece model: {error}", kind="usage") from error
    return data


def _write_config(path: Path, preset: FixturePreset, n_bins: int, seed: int) -> None:
    import yaml

    header = (
        f"# pockettts fixture: preset {preset.name}, seed {seed}. Random weights (not a trained model), upstream's schema;\n"
        "# paths are relative to this folder. Made by `pockettts fixture make`.\n"
    )
    body = yaml.safe_dump(preset_config(preset, n_bins), sort_keys=False, default_flow_style=False, width=120)
    path.write_text(header + body, encoding="utf-8")


def _write_weights(folder: Path, preset: FixturePreset, seed: int) -> int:
    import safetensors.torch
    import torch
    from pocket_tts.utils.config import load_config

    config = load_config(folder / CONFIG_FILE)
    with working_directory(folder), torch.no_grad():
        torch.manual_seed(seed)
        model = build_unloaded_model(config)
        generator = torch.Generator().manual_seed(seed + 1)
        flow_lm = model.flow_lm
        ldim = flow_lm.ldim
        flow_lm.emb_std.copy_(0.5 + torch.rand(ldim, generator=generator))
        flow_lm.emb_mean.copy_(0.1 * torch.randn(ldim, generator=generator))
        flow_lm.speaker_proj_weight.copy_(preset.speaker_proj_std * torch.randn(flow_lm.speaker_proj_weight.shape, generator=generator))
        flow_lm.out_eos.weight.copy_(preset.eos_weight_std * torch.randn(flow_lm.out_eos.weight.shape, generator=generator))
        flow_lm.out_eos.bias.fill_(preset.eos_bias)
        state = {key: value.detach().contiguous() for key, value in model.state_dict().items()}
    safetensors.torch.save_file(state, str(folder / WEIGHTS_FILE))
    return int(sum(value.numel() for value in state.values()))


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    import torch

    return {
        "pocket_tts": version("pocket-tts"),
        "torch": torch.__version__,
        "sentencepiece": version("sentencepiece"),
        "numpy": version("numpy"),
    }


def main(argv: list[str]) -> dict[str, Any]:
    parser = JobArgumentParser(prog="make_fixture", description="Write a random-weight model folder in the upstream format.")
    parser.add_argument("--preset", required=True, choices=sorted(PRESETS))
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--tokenizer", type=Path, default=None, help="use this SentencePiece model instead of training one")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    args = parser.parse_args(argv)
    return make_fixture(args.preset, args.out, seed=args.seed, tokenizer=args.tokenizer, force=args.force)


if __name__ == "__main__":
    run_job(main)
