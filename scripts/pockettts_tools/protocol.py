"""The line protocol between a Python job and the TypeScript runner (src/python/run-python-job.ts).

stdout lines that are JSON objects with an ``event`` key are events:
``progress`` (stage, done, total, message), ``result`` (data, once, on success) and ``error``
(code, kind, message, hint; then the job exits non-zero). Any other line is plain log output.
"""
from __future__ import annotations

import json
import sys
import traceback
from typing import Any, Callable, Literal, NoReturn

ErrorKind = Literal["usage", "prerequisite", "model", "runtime"]
EXIT_CODES: dict[ErrorKind, int] = {"usage": 2, "prerequisite": 3, "model": 3, "runtime": 4}


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


def run_job(main: Callable[[list[str]], Any], argv: list[str] | None = None) -> None:
    """Runs ``main(argv)``; a JobError becomes an error event, anything else a traceback on stderr."""
    try:
        data = main(sys.argv[1:] if argv is None else argv)
    except JobError as error:
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
        sys.exit(130)
    except SystemExit:
        raise
    except Exception:  # noqa: BLE001 - the runner shows the traceback tail as the error
        traceback.print_exc()
        sys.exit(4)
    result(data)
