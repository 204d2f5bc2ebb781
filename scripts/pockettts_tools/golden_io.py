"""Reading and writing golden folders in the ``pockettts-golden/1`` format (see ../shared/oracle/FORMAT.md).

One folder per case: ``manifest.json`` plus one ``.npy`` (format 1.0, little-endian, C order) per tensor.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .protocol import JobError

FORMAT = "pockettts-golden/1"
_DTYPES = {"float32": "<f4", "int64": "<i8"}


@dataclass
class GoldenWriter:
    """Collects tensors into ``folder`` (written at once) and the manifest's ``tensors`` table."""

    folder: Path
    tensors: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, name: str, value: Any, dtype: str) -> None:
        if name in self.tensors:
            raise ValueError(f"tensor {name} recorded twice")
        array = np.ascontiguousarray(np.asarray(value).astype(_DTYPES[dtype], copy=False))
        file = f"{name}.npy"
        np.save(self.folder / file, array, allow_pickle=False)
        self.tensors[name] = {"file": file, "dtype": dtype, "shape": list(array.shape)}

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        body = {**manifest, "tensors": self.tensors}
        (self.folder / "manifest.json").write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class Golden:
    """A golden folder read back: its manifest and a loader for its tensors."""

    folder: Path
    manifest: dict[str, Any]

    def tensor(self, name: str) -> np.ndarray:
        entry = self.manifest["tensors"].get(name)
        if entry is None:
            raise JobError("GOLDEN_TENSOR_MISSING", f"The golden {self.folder} has no tensor {name}.", kind="usage")
        return np.load(self.folder / entry["file"], allow_pickle=False)


def read_golden(folder: Path) -> Golden:
    """Reads a golden folder's manifest; a folder that is not one gives a clear error."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise JobError(
            "NOT_A_GOLDEN_FOLDER",
            f"{folder} has no manifest.json, so it is not a golden folder ({FORMAT}).",
            kind="usage",
            hint="Pass a folder written by `pockettts golden dump` (or one of ../shared/oracle/tiny/golden/*).",
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise JobError("NOT_A_GOLDEN_FOLDER", f"{manifest_path} is not valid JSON: {error}.", kind="usage") from error
    if manifest.get("format") != FORMAT:
        raise JobError(
            "GOLDEN_FORMAT_UNSUPPORTED",
            f"{manifest_path} has format {manifest.get('format')!r}; this tool reads {FORMAT}.",
            kind="usage",
        )
    return Golden(folder=folder, manifest=manifest)


def source_info() -> dict[str, str]:
    """Who made a golden: upstream's release (also as ``upstream``, the --upstream value that replays it) and torch."""
    import torch

    from .upstreams import running_release

    release = running_release()
    return {"impl": "pocket_tts (upstream)", "version": release, "upstream": release, "torch": torch.__version__}


def relative_or_absolute(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when it lies inside it (POSIX separators), else absolute."""
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return str(path)


def path_from(base: Path, target: Path) -> str:
    """``target`` relative to the folder ``base`` (POSIX) when they share a folder below the root, else absolute."""
    base, target = base.absolute(), target.absolute()
    if os.path.commonpath([base, target]) == base.anchor:
        return str(target)
    return Path(os.path.relpath(target, base)).as_posix()
