"""The job protocol: events on stdout, typed errors with exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1]

JOB = """
import sys
from pockettts_tools.protocol import JobError, progress, run_job
def main(argv):
    progress("step", 1, 2)
    if argv and argv[0] == "bad":
        raise JobError("BAD_INPUT", "bad input", kind="usage", hint="pass good input")
    if argv and argv[0] == "crash":
        raise RuntimeError("boom")
    if argv and argv[0] == "missing":
        import pockettts_no_such_module  # noqa: F401
    if argv and argv[0] == "cancel-converted":
        # a SIGTERM whose interrupt a library turns into another exception
        import os, signal
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        except KeyboardInterrupt:
            raise RuntimeError("interrupted inside a library")
    return {"ok": True}
run_job(main)
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", JOB, *args], capture_output=True, text=True, env={"PYTHONPATH": str(SCRIPTS)})


def events(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_success_emits_progress_then_result() -> None:
    p = run()
    assert p.returncode == 0
    assert [e["event"] for e in events(p.stdout)] == ["progress", "result"]
    assert events(p.stdout)[-1]["data"] == {"ok": True}


def test_job_error_is_an_error_event_with_the_kind_exit_code() -> None:
    p = run("bad")
    assert p.returncode == 2
    error = events(p.stdout)[-1]
    assert error == {"event": "error", "code": "BAD_INPUT", "kind": "usage", "message": "bad input", "hint": "pass good input"}


def test_unexpected_exception_leaves_a_traceback_and_exit_4() -> None:
    p = run("crash")
    assert p.returncode == 4
    assert "RuntimeError: boom" in p.stderr
    assert all(e["event"] != "result" for e in events(p.stdout))


def test_a_missing_module_is_a_prerequisite_error_naming_it() -> None:
    p = run("missing")
    assert p.returncode == 3
    error = events(p.stdout)[-1]
    assert error["code"] == "PYTHON_MODULE_MISSING" and "pockettts_no_such_module" in error["message"]
    assert "Traceback" not in p.stderr


def test_an_interrupt_that_surfaces_as_another_exception_still_exits_as_cancelled() -> None:
    p = run("cancel-converted")
    assert p.returncode == 130
    assert "cancelled (the interrupt surfaced as RuntimeError)" in p.stderr
    assert "Traceback" not in p.stderr


def test_sigterm_cancels_a_job_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    import signal

    out = tmp_path / "fixture"
    child = subprocess.Popen(
        [sys.executable, "-m", "pockettts_tools.make_fixture", "--preset", "tiny", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(SCRIPTS)},
    )
    assert child.stdout is not None
    first = child.stdout.readline()  # the first progress event: the staging folder exists by then
    assert '"progress"' in first
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=120)
    assert child.returncode == 130
    assert list(tmp_path.iterdir()) == []
