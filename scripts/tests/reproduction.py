"""Compares files the tooling made again with the committed ones, within test/cross-cpu-tolerance.json.

torch picks other vector kernels on other CPU types, so float tensors are compared with the cross-CPU tolerance;
integers, shapes, dtypes, tensor names, NaN places and every non-tensor file must be equal. Byte identity (which
holds on the CPU type that recorded the files) is reported, not required.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from conftest import PROJECT
from safetensors import safe_open
from safetensors.numpy import load_file

CROSS_CPU = json.loads((PROJECT / "test" / "cross-cpu-tolerance.json").read_text(encoding="utf-8"))


def _compare_arrays(name: str, ours: np.ndarray, committed: np.ndarray, problems: list[str]) -> float:
    if ours.dtype != committed.dtype or ours.shape != committed.shape:
        problems.append(f"{name}: {ours.dtype}{list(ours.shape)} vs {committed.dtype}{list(committed.shape)}")
        return float("inf")
    if committed.dtype.kind != "f":
        if not np.array_equal(ours, committed):
            problems.append(f"{name}: integers differ")
        return 0.0
    a, b = ours.astype(np.float64), committed.astype(np.float64)
    if not np.array_equal(np.isfinite(a), np.isfinite(b)) or not np.array_equal(a[~np.isfinite(a)], b[~np.isfinite(b)], equal_nan=True):
        problems.append(f"{name}: NaN/Inf at other places")
        return float("inf")
    finite = np.isfinite(b)
    diff = np.abs(a[finite] - b[finite])
    if diff.size and np.any(diff > CROSS_CPU["atol"] + CROSS_CPU["rtol"] * np.abs(b[finite])):
        problems.append(f"{name}: max-abs {float(diff.max()):.3g} beyond atol {CROSS_CPU['atol']} + rtol {CROSS_CPU['rtol']}")
    return float(diff.max()) if diff.size else 0.0


def compare_file(ours: Path, committed: Path, name: str, problems: list[str]) -> tuple[bool, float]:
    """(byte-identical, largest float difference); appends what is beyond the tolerance to ``problems``."""
    if ours.read_bytes() == committed.read_bytes():
        return True, 0.0
    if committed.suffix == ".npy":
        return False, _compare_arrays(name, np.load(ours), np.load(committed), problems)
    if committed.suffix == ".safetensors":
        mine, theirs = load_file(ours), load_file(committed)
        with safe_open(ours, "np") as a, safe_open(committed, "np") as b:
            if a.metadata() != b.metadata():
                problems.append(f"{name}: other metadata")
        if sorted(mine) != sorted(theirs):
            problems.append(f"{name}: other tensor names")
        worst = max((_compare_arrays(f"{name} {key}", mine[key], theirs[key], problems) for key in theirs if key in mine), default=0.0)
        return False, worst
    problems.append(f"{name}: bytes differ (not a tensor file, so it must be equal)")
    return False, float("inf")


def reproduction_problems(pairs: list[tuple[Path, Path, str]]) -> list[str]:
    problems: list[str] = []
    identical, worst = 0, 0.0
    for ours, committed, name in pairs:
        same, diff = compare_file(ours, committed, name, problems)
        identical += same
        worst = max(worst, diff)
    print(f"reproduction: {identical}/{len(pairs)} files byte-identical (same CPU type only), largest float difference {worst:.3g}")
    return problems
