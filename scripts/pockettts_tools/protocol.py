"""The line protocol between a Python job and the TypeScript runner (src/python/run-python-job.ts).

stdout lines that are JSON objects with an ``event`` key are events:
``progress`` (stage, done, total, message), ``result`` (data, once, on success) and ``error``
(code, kind, message, hint; then the job exits non-zero). Any other line is plain log output.
"""

from __future__ import annotations

import json
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, NoReturn

ErrorKind = Literal["usage", "prerequisite", "model", "runtime"]


# Exit codes from the project's one table (contracts/exit-codes.json), which the TypeScript side reads too.
_CONTRACT = json.loads((Path(__file__).resolve().parents[2] / "contracts" / "exit-codes.json").read_text(encoding="utf-8"))
_CODES: dict[str, int] = {name: int(entry["code"]) for name, entry in _CONTRACT["exitCodes"].items()}
EXIT_CODES: dict[ErrorKind, int] = {kind: _CODES[name] for kind, name in _CONTRACT["jobErrorKinds"].items() if kind != "about"}  # type: ignore[misc]
EXIT_CANCELLED = _CODES["cancelled"]
EXIT_RUNTIME = _CODES["runtime"]


class JobError(Exception):
    """An error the job reports on purpose: a stable code, a kind and a hint for the user."""

    def __init__(self, code: str, message: str, *, kind: ErrorKind = "runtime", hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.kind: ErrorKind = kind
        self.message = message
        self.hint = hint


def _emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def progress(stage: str, done: int | None = None, total: int | None = None, message: str | None = None) -> None:
    payload: dict[str, Any] = {"event": "progress", "stage": stage}
    if done is not None:
        payload["done"] = done
    if total is not None:
        payload["total"] = total
    if message is not None:
        payload["message"] = message
    _emit(payload)


def result(data: Any) -> None:
    _emit({"event": "result", "data": data})


def fail(error: JobError) -> NoReturn:
    payload: dict[str, Any] = {"event": "error", "code": error.code, "kind": error.kind, "message": error.message}
    if error.hint is not None:
        payload["hint"] = error.hint
    _emit(payload)
    sys.exit(EXIT_CODES[error.kind])


# Set by SIGTERM: whatever the job raises afterwards is the cancellation's doing (an interrupt raised inside a C
# extension or an import can surface as another exception), so the job exits as cancelled, not as a crash.
_cancel_requested = False


def _interrupt(signum: int, frame: object) -> None:
    global _cancel_requested
    _cancel_requested = True
    raise KeyboardInterrupt


def run_job(main: Callable[[list[str]], Any], argv: list[str] | None = None) -> None:
    """Runs ``main(argv)``; a JobError becomes an error event, anything else a traceback on stderr.

    SIGTERM (how the runner cancels a job) is turned into KeyboardInterrupt, so that ``finally`` blocks and the
    atomic writers remove what they staged before the job exits with 130.
    """
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        data = main(sys.argv[1:] if argv is None else argv)
    except JobError as error:
        if _cancel_requested:
            sys.exit(EXIT_CANCELLED)
        fail(error)
    except ModuleNotFoundError as error:
        fail(
            JobError(
                "PYTHON_MODULE_MISSING",
                f"The Python at {sys.executable} lacks module {error.name}.",
                kind="prerequisite",
                hint="Run `npm run setup:python` (creates .venv/ with everything pinned), or install scripts/requirements.txt into that interpreter.",
            )
        )
    except KeyboardInterrupt:
        sys.exit(EXIT_CANCELLED)
    except SystemExit:
        raise
    except Exception as error:  # noqa: BLE001 - the runner shows the traceback tail as the error
        if _cancel_requested:
            print(f"cancelled (the interrupt surfaced as {type(error).__name__})", file=sys.stderr)
            sys.exit(EXIT_CANCELLED)
        traceback.print_exc()
        sys.exit(EXIT_RUNTIME)
    result(data)
