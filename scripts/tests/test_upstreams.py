"""The pinned upstream releases (contracts/upstreams.json) as the tooling reads them, and the per-release checks."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import PROJECT, SCRIPTS

from pockettts_tools.fixture_presets import PRESETS, _merge
from pockettts_tools.protocol import JobError
from pockettts_tools.upstreams import contract, expect_release, is_v4, pinned_releases, running_release


def test_the_contract_pins_2_1_0_as_base_and_4_0_1_layered_on_it() -> None:
    assert pinned_releases() == ["2.1.0", "4.0.1"]
    releases = contract()["releases"]
    assert [r for r, e in releases.items() if e["base"]] == ["2.1.0"]
    assert all(e["pip"][0] == f"pocket-tts=={r}" for r, e in releases.items())
    # both releases export; a folder that records no release is exported as 2.1.0 (its config loads in 4.0.1 too)
    assert all("model export" in e["commands"] for e in releases.values())
    assert contract()["defaults"]["model export"] == "2.1.0"


def test_this_interpreter_runs_the_base_release_and_refuses_another() -> None:
    assert running_release() == "2.1.0" and not is_v4()
    assert is_v4("4.0.1") and not is_v4("2.1.0")
    assert expect_release(None) == "2.1.0"
    with pytest.raises(JobError) as caught:
        expect_release("4.0.1")
    assert caught.value.code == "UPSTREAM_MISMATCH" and "4.0.1 venv" in (caught.value.hint or "")


def test_every_fixture_preset_names_a_pinned_release_and_v4_presets_a_wheel_config() -> None:
    for preset in PRESETS.values():
        assert preset.upstream in pinned_releases(), preset.name
        assert (preset.config is None) == (preset.base_config is not None), preset.name
    assert _merge({"a": {"b": 1, "c": [1]}, "d": 2}, {"a": {"c": [2]}}) == {"a": {"b": 1, "c": [2]}, "d": 2}


def test_the_4_0_1_venv_runs_4_0_1_and_reads_the_rest_from_the_base_venv() -> None:
    python = PROJECT / ".venv-4.0.1" / "bin" / "python"
    assert python.exists(), "made by scripts/setup-python.sh"
    code = "from pockettts_tools.upstreams import running_release; import torch, onnx; print(running_release(), torch.__file__)"
    out = subprocess.run([str(python), "-c", code], env={"PYTHONPATH": str(SCRIPTS)}, capture_output=True, text=True, check=True).stdout
    release, torch_file = out.split()
    assert release == "4.0.1"
    assert torch_file.startswith(str(PROJECT / ".venv" / "lib")), "torch comes from the base venv, installed once"
    assert sys.executable != str(python)
