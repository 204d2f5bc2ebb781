"""Shared fixtures of the Python tooling tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
ORACLE = PROJECT.parent / "shared" / "oracle"


@pytest.fixture(scope="session")
def oracle() -> Path:
    """../shared/oracle: fails under CI=true when missing, skips (saying why) elsewhere."""
    if not (ORACLE / "FORMAT.md").exists():
        message = f"needs ../shared/oracle (missing at {ORACLE})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return ORACLE
