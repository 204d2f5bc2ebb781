"""Argument parsing for jobs: a bad argument is a usage JobError (an error event), not argparse's exit."""

from __future__ import annotations

import argparse
import math
from typing import NoReturn

from .protocol import JobError


class JobArgumentParser(argparse.ArgumentParser):
    """argparse that raises a usage JobError instead of printing usage and exiting."""

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
