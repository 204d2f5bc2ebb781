"""The pinned upstream pocket-tts releases (``contracts/upstreams.json``, the one list; the set-up script and the
TypeScript side read it too) and which of them this interpreter runs.

Code that differs between releases asks :func:`running_release` (or :func:`is_v4`) in a small function of its own,
keyed by release, so the next release adds a branch there and an entry in the contract.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from .protocol import JobError

CONTRACT_FILE = Path(__file__).resolve().parents[2] / "contracts" / "upstreams.json"


@cache
def contract() -> dict[str, Any]:
    return json.loads(CONTRACT_FILE.read_text(encoding="utf-8"))


def pinned_releases() -> list[str]:
    """The pinned releases, oldest first."""
    return sorted(contract()["releases"], key=version_key)


def version_key(release: str) -> tuple[int, ...]:
    return tuple(int(part) for part in release.split("+")[0].split("."))


@cache
def running_release() -> str:
    """The pocket-tts release this interpreter imports; a release the contract does not pin is refused."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("pocket-tts")
    except PackageNotFoundError as error:
        raise JobError(
            "PYTHON_MODULE_MISSING",
            "This interpreter has no pocket-tts.",
            kind="prerequisite",
            hint="Run `npm run setup:python` (one venv per pinned release), or pass --python with an interpreter that has it.",
        ) from error
    if release not in contract()["releases"]:
        raise JobError(
            "UPSTREAM_UNPINNED",
            f"This interpreter runs pocket-tts {release}, which contracts/upstreams.json does not pin ({', '.join(pinned_releases())}).",
            kind="prerequisite",
            hint="Run `npm run setup:python` and use the venv of a pinned release (or --upstream to pick one).",
        )
    return release


def is_v4(release: str | None = None) -> bool:
    """True for the 3.x/4.x generation (tanh GELU, sampler heads, EOS ignored at first, fade-in, end_on_pause)."""
    return version_key(release or running_release()) >= (3, 0, 0)


def expect_release(wanted: str | None) -> str:
    """The running release, checked against the one the caller asked for (``--upstream``)."""
    release = running_release()
    if wanted is not None and wanted != release:
        raise JobError(
            "UPSTREAM_MISMATCH",
            f"Asked for upstream pocket-tts {wanted}, but this interpreter runs {release}.",
            kind="prerequisite",
            hint=f"Run the job with the interpreter of the {wanted} venv (`npm run setup:python` makes it), or pass --upstream {release}.",
        )
    return release
