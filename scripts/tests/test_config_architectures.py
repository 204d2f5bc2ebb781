"""The architectures job: upstream configs without their hub paths, written and checked against the installed package."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pockettts_tools.config_architectures import installed_architectures, main, without_paths
from pockettts_tools.protocol import JobError


def test_without_paths_drops_every_hub_path_and_keeps_the_rest_in_order() -> None:
    config = {
        "weights_path": "hf://a/b.safetensors@1",
        "default_temperature": 0.3,
        "weights_path_without_voice_cloning": "hf://c/b.safetensors@2",
        "flow_lm": {
            "dtype": "float32",
            "weights_path": "x",
            "lookup_table": {"dim": 8, "tokenizer_path": "hf://t", "tokenizer": "tokenizers"},
        },
        "mimi": {"weights_path": "y", "sample_rate": 24000},
    }
    stripped = without_paths(config)
    assert stripped == {
        "default_temperature": 0.3,
        "flow_lm": {"dtype": "float32", "lookup_table": {"dim": 8, "tokenizer": "tokenizers"}},
        "mimi": {"sample_rate": 24000},
    }
    assert list(stripped) == ["default_temperature", "flow_lm", "mimi"]
    assert "weights_path" in config["flow_lm"]  # the input is left as it was


def test_writes_then_verifies_the_running_release_and_names_a_stale_config(tmp_path: Path) -> None:
    out = tmp_path / "architectures.json"
    written = main(["--out", str(out)])
    data = json.loads(out.read_text(encoding="utf-8"))
    assert written["status"] == "written" and written["configs"] == len(data["configs"]) > 0
    assert data["upstream"] == installed_architectures()["upstream"]
    assert all("weights_path" not in c and "tokenizer_path" not in c["flow_lm"]["lookup_table"] for c in data["configs"].values())
    assert main(["--out", str(out), "--check"])["status"] == "verified"
    name = sorted(data["configs"])[0]
    data["configs"][name]["flow_lm"]["dtype"] = "float16"
    out.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(JobError) as caught:
        main(["--out", str(out), "--check"])
    assert caught.value.code == "ARCHITECTURES_STALE" and f"configs: {name}" in caught.value.message
    with pytest.raises(JobError) as missing:
        main(["--out", str(tmp_path / "absent.json"), "--check"])
    assert missing.value.code == "ARCHITECTURES_STALE" and "is missing" in missing.value.message
