"""The ONNX exporter: typed errors of the loader, and a v1-generation model exported and checked end to end."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1]
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))


def run_export(source: Path, out: Path, *extra: str) -> tuple[int, list[dict[str, object]], str]:
    process = subprocess.run(
        [sys.executable, "-m", "pockettts_tools.export_onnx", "--from", str(source), "--out", str(out), *extra],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SCRIPTS), "PATH": "/usr/bin:/bin"},
        timeout=600,
    )
    events = [json.loads(line) for line in process.stdout.splitlines() if line.startswith("{")]
    return process.returncode, events, process.stderr


@pytest.fixture()
def tiny_copy(oracle: Path, tmp_path: Path) -> Path:
    """A writable copy of the oracle's tiny model (config, checkpoint, tokenizer; no goldens)."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    for name in ("config.yaml", "model.safetensors", "tokenizer.model"):
        shutil.copy(oracle / "tiny" / name, folder / name)
    return folder


def load_error(folder: Path) -> object:
    from pockettts_tools.export_onnx import load_source
    from pockettts_tools.protocol import JobError

    with pytest.raises(JobError) as caught:
        load_source(folder)
    return caught.value


def test_missing_config_is_a_usage_error(tmp_path: Path) -> None:
    error = load_error(tmp_path)
    assert (error.code, error.kind) == ("MODEL_CONFIG_MISSING", "usage")  # type: ignore[attr-defined]


def test_unknown_config_key_names_the_field_needs_oracle(tiny_copy: Path) -> None:
    config = tiny_copy / "config.yaml"
    config.write_text(config.read_text().replace("  dtype: float32\n  flow:", "  dtype: float32\n  colour: red\n  flow:", 1))
    error = load_error(tiny_copy)
    assert error.code == "MODEL_CONFIG_INVALID"  # type: ignore[attr-defined]
    assert "flow_lm.colour" in error.message  # type: ignore[attr-defined]


def test_config_checkpoint_mismatch_names_the_key_needs_oracle(tiny_copy: Path) -> None:
    config = tiny_copy / "config.yaml"
    config.write_text(config.read_text().replace("    num_layers: 2\n  lookup_table", "    num_layers: 3\n  lookup_table", 1))
    error = load_error(tiny_copy)
    assert (error.code, error.kind) == ("MODEL_CHECKPOINT_MISMATCH", "model")  # type: ignore[attr-defined]
    assert "flow_lm.transformer.layers.2." in error.message  # type: ignore[attr-defined]


def test_unreadable_checkpoint_needs_oracle(tiny_copy: Path) -> None:
    checkpoint = tiny_copy / "model.safetensors"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    error = load_error(tiny_copy)
    assert (error.code, error.kind) == ("MODEL_CHECKPOINT_UNREADABLE", "model")  # type: ignore[attr-defined]


def test_missing_tokenizer_names_the_config_key_needs_oracle(tiny_copy: Path) -> None:
    (tiny_copy / "tokenizer.model").unlink()
    error = load_error(tiny_copy)
    assert error.code == "MODEL_FILE_MISSING"  # type: ignore[attr-defined]
    assert "tokenizer_path" in error.message  # type: ignore[attr-defined]


def make_v1_model(oracle: Path, folder: Path) -> None:
    """A random-weight v1-generation model (no inner_dim: 64-d voice latents, no voice BOS) built by upstream."""
    import safetensors.torch
    import torch
    import yaml
    from pocket_tts import TTSModel
    from pocket_tts.utils.config import Config

    data = yaml.safe_load((oracle / "tiny" / "config.yaml").read_text())
    data["flow_lm"].pop("insert_bos_before_voice")
    data["mimi"].pop("inner_dim")
    data["mimi"].pop("outer_dim")
    data["pad_with_spaces_for_short_inputs"] = True
    folder.mkdir()
    shutil.copy(oracle / "tiny" / "tokenizer.model", folder / "tokenizer.model")
    unweighted = dict(data, weights_path=None)
    unweighted["flow_lm"] = dict(
        data["flow_lm"], lookup_table=dict(data["flow_lm"]["lookup_table"], tokenizer_path=str(folder / "tokenizer.model"))
    )
    torch.manual_seed(3)
    tts = TTSModel._from_pydantic_config_with_weights(Config(**unweighted), 0.7, 1, None, -4.0)
    safetensors.torch.save_file({k: v.contiguous() for k, v in tts.state_dict().items()}, str(folder / "model.safetensors"))
    (folder / "config.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def test_v1_model_exports_and_checks_needs_oracle(oracle: Path, tmp_path: Path) -> None:
    source = tmp_path / "v1"
    make_v1_model(oracle, source)
    out = tmp_path / "v1-onnx"
    code, events, stderr = run_export(source, out, "--max-steps", "3")
    assert code == 0, stderr[-2000:]
    assert events[-1]["event"] == "result"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["generation"] == "v1"
    assert manifest["model"]["insert_bos_before_voice"] is False
    assert manifest["model"]["voice_latent_dim"] == 64
    assert manifest["model"]["pad_with_spaces_for_short_inputs"] is True
    assert manifest["capacities"]["max_prompt_positions"] == 375  # no voice BOS
    encoder = manifest["graphs"]["mimi_encoder"]
    assert [o["shape"] for o in encoder["outputs"]] == [[1, 64, "n_frames"], [1, "n_prompt", 64]]
    assert manifest["checks"]["passed"] is True
    assert all(g["passed"] for g in manifest["checks"]["graphs"].values())
    # the encoder's call set in the embedded golden: no BOS row, so n_prompt == n_frames
    import numpy as np

    assert manifest["golden"] == {"path": "golden/reference", "replayable": False, "reason": "--max-steps capped the reference run"}
    golden = json.loads((out / "golden/reference/manifest.json").read_text())
    call = golden["calls"]["mimi_encoder"][0]
    tensor = golden["tensors"]
    latent = np.load(out / "golden/reference" / tensor[call["outputs"]["mimi_latent"]]["file"])
    conditioning = np.load(out / "golden/reference" / tensor[call["outputs"]["conditioning"]]["file"])
    assert conditioning.shape[1] == latent.shape[2]


def test_export_into_a_non_empty_folder_is_refused_needs_oracle(oracle: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, events, _ = run_export(oracle / "tiny", out)
    assert code == 2
    assert events[-1]["code"] == "EXPORT_OUT_NOT_EMPTY"
    assert (out / "keep.txt").read_text() == "mine"
