"""The export-time check tolerances, from the project's one tolerance table (``contracts/tolerances.json``).

Parity (TypeScript) reads the same file: each graph output is checked with the tolerance of the parity check it
maps to under ``graphs`` (``default``: every output not named), so an export and a parity run judge a tensor alike.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypedDict

CONTRACT_FILE = Path(__file__).resolve().parents[2] / "contracts" / "tolerances.json"


class Tolerance(TypedDict):
    atol: float
    rtol: float


def _contract() -> dict[str, Any]:
    return json.loads(CONTRACT_FILE.read_text(encoding="utf-8"))


def graph_tolerances(graph: str) -> dict[str, Tolerance]:
    """Per output name (and ``default``) of ``graph``: ``|actual - expected| <= atol + rtol * |expected|``."""
    contract = _contract()
    table: dict[str, Tolerance] = {}
    for output, check_name in contract["graphs"][graph].items():
        check = contract["checks"][check_name]
        if check["atol"] is None:
            raise ValueError(f"{CONTRACT_FILE}: check {check_name!r} of {graph}.{output} has no elementwise atol")
        table[output] = {"atol": float(check["atol"]), "rtol": float(check["rtol"])}
    return table


def chain_tolerances() -> dict[str, float]:
    """Largest |onnx - upstream| allowed per stream in the export's free-running chain check."""
    return {name: float(value) for name, value in _contract()["chain"]["max_abs"].items()}
