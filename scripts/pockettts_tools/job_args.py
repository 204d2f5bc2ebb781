"""Argument parsing for jobs: a bad argument is a usage JobError (an error event), not argparse's exit."""

from __future__ import annotations

import argparse
import math
from typing import NoReturn

from .protocol import JobError


class JobArgumentParser(argparse.ArgumentParser):
    """argparse that raises a usage JobError instead of printing usage and exiting. Every job takes ``--upstream
    RELEASE`` (the pocket-tts release the caller expects this interpreter to run): ``parse_args`` checks it."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.add_argument("--upstream", default=None, help="the pocket-tts release this interpreter must run (checked)")

    def parse_args(self, *args: object, **kwargs: object) -> argparse.Namespace:  # type: ignore[override]
        from .upstreams import expect_release

        namespace = super().parse_args(*args, **kwargs)  # type: ignore[arg-type]
        if namespace.upstream is not None:
            expect_release(namespace.upstream)
        return namespace

    def error(self, message: str) -> NoReturn:
        raise JobError("USAGE", f"{self.prog}: {message}", kind="usage", hint=f"Run python -m pockettts_tools.{self.prog} --help.")


def finite_float(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{raw} is not a finite number")
    return value


def non_negative_float(raw: str) -> float:
    value = finite_float(raw)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{raw} must be >= 0")
    return value


def positive_float(raw: str) -> float:
    value = finite_float(raw)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{raw} must be > 0")
    return value


def positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{raw} must be a whole number > 0")
    return value


def non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{raw} must be a whole number >= 0")
    return value
