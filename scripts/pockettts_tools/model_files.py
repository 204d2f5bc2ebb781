"""Hashing and the side files an export carries: the tokenizer and the voices found in the source folder."""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .model_facts import ModelFacts
from .protocol import JobError

_LAYER_KEY = re.compile(r"^transformer\.layers\.(\d+)\.self_attn/(cache|offset|current_end|pad)$")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_entry(root: Path, path: Path) -> dict[str, Any]:
    return {"path": path.relative_to(root).as_posix(), "sha256": sha256_file(path), "size": path.stat().st_size}


@dataclass(frozen=True)
class VoiceFile:
    source: Path
    relative: str  # the same relative path in the export as in the source folder
    kind: str  # "kv_state" | "audio_prompt" | "audio"
    info: dict[str, Any]


def _describe_safetensors(path: Path, facts: ModelFacts) -> tuple[str, dict[str, Any]] | None:
    """Recognises upstream voice files; None for any other safetensors (e.g. another checkpoint)."""
    import safetensors

    try:
        with safetensors.safe_open(str(path), framework="np") as handle:
            shapes = {key: list(handle.get_slice(key).get_shape()) for key in handle.keys()}
    except Exception as error:
        raise JobError(
            "MODEL_VOICE_UNREADABLE",
            f"Cannot read the voice file {path}: {error}",
            kind="model",
            hint="Remove or replace the file; voice files are safetensors written by pocket-tts export-voice.",
        ) from error
    if set(shapes) == {"audio_prompt"}:
        shape = shapes["audio_prompt"]
        if len(shape) != 3 or shape[2] != facts.d_model:
            raise JobError(
                "MODEL_VOICE_MISMATCH",
                f"{path.name}: audio_prompt is {shape}, the model needs [1, T, {facts.d_model}].",
                kind="model",
                hint="Use voices made with this model.",
            )
        return "audio_prompt", {
            "positions": shape[1],
            "layout": "audio_prompt [1, T, d_model]: run it through flow_lm_main as conditioning",
        }
    layers: dict[int, dict[str, list[int]]] = {}
    for key, shape in shapes.items():
        match = _LAYER_KEY.match(key)
        if match is None:
            return None
        layers.setdefault(int(match.group(1)), {})[match.group(2)] = shape
    if sorted(layers) != list(range(facts.num_layers)):
        raise JobError(
            "MODEL_VOICE_MISMATCH",
            f"{path.name} holds {len(layers)} layers of KV state, the model has {facts.num_layers}.",
            kind="model",
            hint="Use voices made with this model (same language and size).",
        )
    positions = set()
    for index, entry in layers.items():
        cache = entry.get("cache")
        if cache is None or len(cache) != 5 or cache[0] != 2 or cache[1] != 1 or cache[3:] != [facts.num_kv_heads, facts.head_dim]:
            raise JobError(
                "MODEL_VOICE_MISMATCH",
                f"{path.name}: layer {index} cache is {cache}, the model needs [2, 1, P, {facts.num_kv_heads}, {facts.head_dim}].",
                kind="model",
                hint="Use voices made with this model.",
            )
        positions.add(cache[2])
    return "kv_state", {
        "positions": min(positions),
        "layout": "per layer i: 'transformer.layers.{i}.self_attn/cache' [2, 1, P, num_kv_heads, head_dim] and "
        "'.../offset' int64 [1] (or legacy '.../current_end' [P]; 4.x adds '.../pad' int64 [1], zero for one voice); flow_lm_main's past K of layer i at "
        "position p is cache_i[0, 0, p], its past V cache_i[1, 0, p], for p < offset",
    }


def find_voices(folder: Path, checkpoint: Path, facts: ModelFacts) -> tuple[list[VoiceFile], list[str]]:
    """Voice states (top-level or under voices/) and prompt WAVs; returns (voices, skipped file names)."""
    candidates = sorted(
        [*folder.glob("*.safetensors"), *folder.glob("*.wav"), *folder.glob("voices/**/*.safetensors"), *folder.glob("voices/**/*.wav")]
    )
    voices: list[VoiceFile] = []
    skipped: list[str] = []
    for path in candidates:
        if path.resolve() == checkpoint.resolve() or not path.is_file():
            continue
        relative = path.relative_to(folder).as_posix()
        if path.suffix == ".wav":
            voices.append(VoiceFile(path, relative, "audio", {"note": "a voice prompt: pad, run mimi_encoder, then flow_lm_main"}))
            continue
        described = _describe_safetensors(path, facts)
        if described is None:
            skipped.append(relative)
        else:
            voices.append(VoiceFile(path, relative, described[0], described[1]))
    return voices, skipped


def copy_file(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, destination)
