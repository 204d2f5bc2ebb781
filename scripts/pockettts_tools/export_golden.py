"""The golden an export embeds (``golden/reference/``, format ``pockettts-golden/1``): the reference run's
synthesis tensors, as ``dump_golden`` writes them, plus the per-graph call sets that ``pockettts model verify``
replays, stored as tensors ``calls.<graph>.<call>.<input or output>`` and listed in the manifest's ``calls`` table
(graph -> [{name, inputs: {graph input: tensor}, outputs: {graph output: tensor}}]); see docs/graph-contract.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .golden_io import FORMAT, GoldenWriter, source_info
from .graph_checks import Case
from .reference_run import Reference

GOLDEN_CASE = "golden/reference"
VOICE_PROMPT = f"{GOLDEN_CASE}/voice.wav"


def _dtype(value: np.ndarray) -> str:
    if value.dtype.kind == "f":
        return "float32"
    if value.dtype.kind in "iu":
        return "int64"
    raise ValueError(f"a call tensor of dtype {value.dtype} has no golden dtype")


def write_export_golden(model_dir: Path, ref: Reference, call_sets: dict[str, list[Case]]) -> dict[str, Any]:
    """Writes the golden into ``model_dir/golden/reference`` (the voice prompt is already there); returns the
    export manifest's ``golden`` entry."""
    folder = model_dir / GOLDEN_CASE
    folder.mkdir(parents=True, exist_ok=True)
    writer = GoldenWriter(folder)
    for name, (array, dtype) in ref.chunk.tensors().items():
        writer.add(f"chunk0.{name}", array, dtype)
    writer.add("audio", ref.audio, "float32")
    calls: dict[str, list[dict[str, Any]]] = {}
    for graph, cases in call_sets.items():
        entries = calls.setdefault(graph, [])
        for case in cases:
            entry: dict[str, Any] = {"name": case.name, "inputs": {}, "outputs": {}}
            for kind, tensors in (("inputs", case.inputs), ("outputs", case.expected)):
                for tensor, value in tensors.items():
                    name = f"calls.{graph}.{case.name}.{tensor}"
                    writer.add(name, value, _dtype(value))
                    entry[kind][tensor] = name
            entries.append(entry)
    writer.write_manifest(
        {
            "format": FORMAT,
            "source": source_info(),
            "case": {
                "text": ref.text,
                "seed": ref.seed,
                "voice": VOICE_PROMPT,
                "temperature": ref.temperature,
                "lsd_decode_steps": ref.lsd_decode_steps,
                "noise_clamp": None,
                "eos_threshold": ref.eos_threshold,
                "frames_after_eos": None,
                "max_tokens": ref.max_tokens,
                "max_gen_len_capped": ref.capped,
            },
            "model": "../..",
            "noise_tape": None,
            "chunks": [ref.chunk.summary()],
            "calls": calls,
        }
    )
    return {"path": GOLDEN_CASE, "replayable": not ref.capped, **({"reason": "--max-steps capped the reference run"} if ref.capped else {})}
