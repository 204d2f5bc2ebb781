"""Shared fixtures of the Python tooling tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
SCRIPTS = PROJECT / "scripts"
ORACLE = PROJECT.parent / "shared" / "oracle"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))  # the pockettts_tools package, imported in-process by the tests


@pytest.fixture(scope="session")
def oracle() -> Path:
    """../shared/oracle: fails under CI=true when missing, skips (saying why) elsewhere."""
    if not (ORACLE / "FORMAT.md").exists():
        message = f"needs ../shared/oracle (missing at {ORACLE})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return ORACLE
