"""Atomic writes of whole folders and single files: build beside the target, then rename into place.

A run that fails or is cancelled leaves the target as it was (no half-written folder or file).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .protocol import JobError


def check_output_dir(target: Path, *, force: bool) -> None:
    """Refuses to replace a non-empty folder unless ``force``; refuses a file in the way."""
    if target.exists() and not target.is_dir():
        raise JobError("OUTPUT_NOT_A_FOLDER", f"{target} exists and is not a folder.", kind="usage", hint="Pass a folder path for --out.")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise JobError(
            "OUTPUT_EXISTS",
            f"{target} already exists and is not empty.",
            kind="usage",
            hint="Pass --force to replace it, or choose another --out folder.",
        )
    make_parent(target)


def make_parent(target: Path) -> None:
    """Creates the folders above ``target`` as needed; a file in the way is a usage error."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as error:
        raise JobError(
            "OUTPUT_PARENT_INVALID",
            f"Cannot create the folder {target.parent}: a file is in the way.",
            kind="usage",
            hint="Choose another output path.",
        ) from error


@contextmanager
def atomic_dir(target: Path, *, force: bool) -> Iterator[Path]:
    """Yields an empty staging folder; on success it replaces ``target`` (a rename), on failure it is removed."""
    target = target.absolute()
    check_output_dir(target, force=force)
    staging = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _normalize_modes(staging)
    replace_dir(staging, target)


def _normalize_modes(folder: Path) -> None:
    """Plain files get the umask's default mode (some writers, e.g. safetensors, create them 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def replace_dir(staging: Path, target: Path) -> None:
    """Moves ``staging`` to ``target``; an existing ``target`` is moved aside first and removed after."""
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        os.replace(target, old)
    try:
        os.replace(staging, target)
    except BaseException:
        if old.exists():
            os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yields a temporary path beside ``target`` (same suffix); renamed onto ``target`` on success."""
    target = target.absolute()
    staging = target.parent / f".{target.stem}.tmp-{os.getpid()}{target.suffix}"
    try:
        yield staging
        os.replace(staging, target)
    finally:
        if staging.exists():
            staging.unlink()
