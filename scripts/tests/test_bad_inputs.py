"""Bad inputs give typed JobErrors naming the culprit: in-process, and as error events (no traceback) from the jobs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from conftest import PROJECT, SCRIPTS
from reproduction import reproduction_problems
from safetensors.torch import load_file, save_file

from pockettts_tools.dump_golden import SynthesisCase, dump_synthesis
from pockettts_tools.model_folder import inspect_model_folder, load_model_folder
from pockettts_tools.protocol import JobError

TINY = PROJECT / "fixtures" / "tiny"


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    """A writable copy of the embedded fixture model."""
    return Path(shutil.copytree(TINY, tmp_path / "model"))


def job_error(call, *args, **kwargs) -> JobError:  # noqa: ANN001 - any callable
    with pytest.raises(JobError) as info:
        call(*args, **kwargs)
    return info.value


def edit_config(model: Path, old: str, new: str) -> None:
    path = model / "config.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def run_job(module: str, *args: str) -> tuple[int, list[dict], str]:
    p = subprocess.run(
        [sys.executable, "-m", f"pockettts_tools.{module}", *args],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SCRIPTS), "PATH": "/usr/bin:/bin"},
    )
    events = [json.loads(line) for line in p.stdout.splitlines() if line.startswith('{"event"')]
    return p.returncode, events, p.stderr


def test_unknown_config_key_is_named(model: Path) -> None:
    edit_config(model, "  transformer:\n    d_model: 64\n", "  transformer:\n    d_model: 64\n    num_kv_heads: 2\n")
    error = job_error(inspect_model_folder, model)
    assert error.code == "CONFIG_UNKNOWN_KEY"
    assert '"flow_lm.transformer.num_kv_heads"' in error.message


def test_missing_config_key_and_bad_value_are_named(model: Path) -> None:
    edit_config(model, "  frame_rate: 12.5\n", "")
    assert job_error(inspect_model_folder, model).code == "CONFIG_MISSING_KEY"
    edit_config(model, "  sample_rate: 24000\n", "  sample_rate: fast\n")
    error = job_error(inspect_model_folder, model)
    assert error.code in {"CONFIG_MISSING_KEY", "CONFIG_INVALID_VALUE"}


def test_a_folder_without_config_is_not_a_model_folder(tmp_path: Path) -> None:
    assert job_error(inspect_model_folder, tmp_path).code == "NOT_A_MODEL_FOLDER"
    assert job_error(inspect_model_folder, tmp_path / "nothing-here").code == "NOT_A_MODEL_FOLDER"


def test_missing_weights_file_is_named(model: Path) -> None:
    (model / "model.safetensors").unlink()
    error = job_error(inspect_model_folder, model)
    assert error.code == "MODEL_FILE_MISSING" and "weights_path: model.safetensors" in error.message


def test_a_remote_path_is_the_same_named_file_of_the_folder_never_fetched(model: Path) -> None:
    edit_config(model, "weights_path: model.safetensors", "weights_path: hf://kyutai/pocket-tts/languages/english/model.safetensors@abc")
    assert inspect_model_folder(model).checkpoint == model.absolute() / "model.safetensors"
    (model / "model.safetensors").unlink()
    error = job_error(inspect_model_folder, model)
    assert error.code == "MODEL_FILE_REMOTE" and "hf://kyutai/pocket-tts/languages/english/model.safetensors@abc" in error.message


def test_missing_checkpoint_key_is_named(model: Path) -> None:
    weights = load_file(model / "model.safetensors")
    del weights["mimi.decoder_transformer.transformer.layers.1.norm2.bias"]
    save_file(weights, model / "model.safetensors")
    error = job_error(load_model_folder, inspect_model_folder(model))
    assert error.code == "CHECKPOINT_KEY_MISSING"
    assert '"mimi.decoder_transformer.transformer.layers.1.norm2.bias"' in error.message


def test_extra_checkpoint_key_and_wrong_shape_are_named(model: Path) -> None:
    weights = load_file(model / "model.safetensors")
    weights["flow_lm.extra.weight"] = weights["flow_lm.emb_std"].clone()
    save_file(weights, model / "model.safetensors")
    error = job_error(load_model_folder, inspect_model_folder(model))
    assert error.code == "CHECKPOINT_KEY_UNEXPECTED" and '"flow_lm.extra.weight"' in error.message
    del weights["flow_lm.extra.weight"]
    weights["flow_lm.emb_std"] = weights["flow_lm.emb_std"][:16].clone()
    save_file(weights, model / "model.safetensors")
    error = job_error(load_model_folder, inspect_model_folder(model))
    assert error.code == "CHECKPOINT_SHAPE_MISMATCH" and '"flow_lm.emb_std"' in error.message


def test_tokenizer_that_does_not_fit_n_bins(model: Path) -> None:
    edit_config(model, "n_bins: 1000", "n_bins: 4000")
    assert job_error(load_model_folder, inspect_model_folder(model)).code == "TOKENIZER_MISMATCH"


def test_empty_text_and_missing_voice(model: Path, tmp_path: Path) -> None:
    assert job_error(dump_synthesis, model, SynthesisCase(text="  \n ", seed=1), tmp_path / "out").code == "EMPTY_TEXT"
    missing = SynthesisCase(text="Hello.", seed=1, voice=str(tmp_path / "nope.safetensors"))
    assert job_error(dump_synthesis, model, missing, tmp_path / "out").code == "VOICE_NOT_FOUND"
    assert not (tmp_path / "out").exists()


def test_a_voice_state_of_another_model_is_refused(model: Path, tmp_path: Path) -> None:
    state = load_file(model / "voice.safetensors")
    del state["transformer.layers.1.self_attn/cache"]
    save_file(state, tmp_path / "half.safetensors")
    case = SynthesisCase(text="Hello.", seed=1, voice=str(tmp_path / "half.safetensors"))
    error = job_error(dump_synthesis, model, case, tmp_path / "out")
    assert error.code == "VOICE_STATE_MISMATCH" and "transformer.layers.1.self_attn/cache" in error.message


def test_a_24_bit_prompt_is_refused(model: Path, tmp_path: Path) -> None:
    with wave.open(str(tmp_path / "deep.wav"), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(3)
        handle.setframerate(24000)
        handle.writeframes(b"\x00" * 3 * 2400)
    case = SynthesisCase(text="Hello.", seed=1, voice=str(tmp_path / "deep.wav"))
    assert job_error(dump_synthesis, model, case, tmp_path / "out").code == "PROMPT_FORMAT_UNSUPPORTED"


def test_an_existing_output_folder_needs_force(model: Path, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    error = job_error(dump_synthesis, model, SynthesisCase(text="Hello.", seed=1), tmp_path / "out")
    assert error.code == "OUTPUT_EXISTS"
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_noise_tape_that_runs_out_is_an_error_and_leaves_nothing(model: Path, tmp_path: Path) -> None:
    golden = PROJECT / "golden" / "short"  # 1 chunk, 16 draws
    case = SynthesisCase(text="Yes, of course.", seed=5, eos_threshold=1e9)  # no EOS: 1 + max_gen_len (63) draws
    error = job_error(dump_synthesis, model, case, tmp_path / "out", noise_tape_dir=golden)
    assert error.code == "NOISE_TAPE_EXHAUSTED"
    assert not (tmp_path / "out").exists()


def test_jobs_report_bad_inputs_as_error_events_without_traceback(model: Path, tmp_path: Path) -> None:
    edit_config(model, "  flow:\n", "  flow_typo: 1\n  flow:\n")
    code, events, stderr = run_job("dump_golden", "--model", str(model), "--text", "Hi.", "--seed", "1", "--out", str(tmp_path / "o"))
    assert code == 3 and events[-1]["event"] == "error" and events[-1]["code"] == "CONFIG_UNKNOWN_KEY"
    assert "flow_lm.flow_typo" in events[-1]["message"]
    assert "Traceback" not in stderr

    code, events, stderr = run_job("dump_golden", "--model", str(TINY), "--text", "", "--seed", "1", "--out", str(tmp_path / "o"))
    assert code == 2 and events[-1]["code"] == "EMPTY_TEXT" and "Traceback" not in stderr

    code, events, stderr = run_job("make_fixture", "--preset", "huge", "--out", str(tmp_path / "f"))
    assert code == 2 and events[-1]["code"] == "USAGE" and "huge" in events[-1]["message"] and "Traceback" not in stderr


def test_export_voice_runs_upstreams_command_and_gets_upstreams_file_within_the_cross_cpu_tolerance(tmp_path: Path) -> None:
    out = tmp_path / "voice.safetensors"
    code, events, stderr = run_job("export_voice", "--model", str(TINY), "--prompt", str(TINY / "voice_prompt.wav"), "--out", str(out))
    assert code == 0, stderr
    result = events[-1]
    assert result["event"] == "result" and result["data"]["positions"] == 51
    # upstream's CLI (get_state_for_audio_prompt(truncate=True) + export_model_state) = what the fixture maker stored
    assert reproduction_problems([(out, TINY / "voice.safetensors", "voice.safetensors")]) == []
    assert [p.name for p in tmp_path.iterdir()] == ["voice.safetensors"]


def test_export_voice_failures_are_typed(tmp_path: Path) -> None:
    code, events, _ = run_job(
        "export_voice", "--model", str(TINY), "--prompt", str(tmp_path / "nope.wav"), "--out", str(tmp_path / "v.safetensors")
    )
    assert code == 2 and events[-1]["code"] == "PROMPT_NOT_FOUND"
    (tmp_path / "garbage.mp3").write_bytes(b"not audio at all")
    code, events, stderr = run_job(
        "export_voice", "--model", str(TINY), "--prompt", str(tmp_path / "garbage.mp3"), "--out", str(tmp_path / "v.safetensors")
    )
    assert code == 4 and events[-1]["code"] == "UPSTREAM_EXPORT_FAILED"
    assert not (tmp_path / "v.safetensors").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["garbage.mp3"]


def test_damaged_weights_and_tokenizer_are_named(model: Path) -> None:
    weights = model / "model.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[:1000])
    assert job_error(load_model_folder, inspect_model_folder(model)).code == "CHECKPOINT_INVALID"
    weights.write_bytes(good)
    (model / "tokenizer.model").write_text("not a tokenizer")
    assert job_error(load_model_folder, inspect_model_folder(model)).code == "TOKENIZER_INVALID"
