"""The project's JSON contracts (``contracts/*.schema.json``, generated from the TypeScript types by
``npm run contracts:generate``): what the tooling writes for the TypeScript side is validated against them first,
so neither language trusts the other's copy of a format.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from .protocol import JobError

CONTRACTS_DIR = Path(__file__).resolve().parents[2] / "contracts"


@cache
def _validator(schema: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads((CONTRACTS_DIR / f"{schema}.schema.json").read_text(encoding="utf-8")))


def validate(schema: str, instance: Any, what: str) -> None:
    """Raises CONTRACT_VIOLATION naming the first few places where ``instance`` breaks ``contracts/<schema>.schema.json``."""
    errors = sorted(_validator(schema).iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        places = "; ".join(f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:5])
        raise JobError(
            "CONTRACT_VIOLATION",
            f"The {what} this tooling produced breaks contracts/{schema}.schema.json ({len(errors)} problem(s)): {places}.",
            kind="runtime",
            hint="This is a bug of the Python tooling or a stale contract: run `npm run contracts:generate` after changing the TypeScript types, and report it if it persists.",
        )
