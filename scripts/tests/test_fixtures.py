"""Fixture models: the committed ones are current and reproducible; every preset loads strictly with upstream."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from conftest import PROJECT
from reproduction import reproduction_problems

from pockettts_tools.fixture_presets import PRESETS
from pockettts_tools.make_fixture import make_fixture
from pockettts_tools.model_folder import inspect_model_folder, load_model_folder
from pockettts_tools.regenerate import FIXTURE_DIR, GOLDEN_DIR, regenerate
from pockettts_tools.tokenizer_training import REAL_TOKENIZER_SETTINGS, train_tokenizer


def files_under(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def test_regenerating_gives_the_committed_fixture_and_goldens_within_the_cross_cpu_tolerance(tmp_path: Path) -> None:
    regenerate(tmp_path)
    for relative in (FIXTURE_DIR, GOLDEN_DIR):
        ours, committed = files_under(tmp_path / relative), files_under(PROJECT / relative)
        assert sorted(ours) == sorted(committed), f"{relative}: files differ; run `npm run fixtures:regenerate`"
        problems = reproduction_problems([(ours[name], committed[name], f"{relative}/{name}") for name in committed])
        assert not problems, f"{relative}: not current or not reproducible: {problems}; run `npm run fixtures:regenerate`"


def test_the_committed_fixture_and_goldens_stay_small() -> None:
    sizes = {rel: sum(p.stat().st_size for p in files_under(PROJECT / rel).values()) for rel in (FIXTURE_DIR, GOLDEN_DIR)}
    assert sizes[FIXTURE_DIR] < 4_000_000, sizes
    assert sizes[GOLDEN_DIR] < 3_000_000, sizes


def test_the_committed_voice_golden_state_is_the_fixture_voice() -> None:
    assert (PROJECT / GOLDEN_DIR / "voice" / "voice.safetensors").read_bytes() == (PROJECT / FIXTURE_DIR / "voice.safetensors").read_bytes()


def test_tiny_v1_is_a_first_generation_model_that_upstream_loads_strictly(tmp_path: Path) -> None:
    first = make_fixture("tiny-v1", tmp_path / "a", seed=3)
    config = yaml.safe_load((tmp_path / "a" / "config.yaml").read_text())
    assert "inner_dim" not in config["mimi"] and "outer_dim" not in config["mimi"]
    assert config["flow_lm"]["insert_bos_before_voice"] is False
    assert config["pad_with_spaces_for_short_inputs"] is True
    model = load_model_folder(inspect_model_folder(tmp_path / "a"))
    assert tuple(model.flow_lm.speaker_proj_weight.shape) == (64, 64)  # the voice latent is the SEANet dimension
    assert not hasattr(model.flow_lm, "bos_before_voice")
    assert first["voicePositions"] == 50  # 4 s of prompt = 50 frames, no voice BOS
    make_fixture("tiny-v1", tmp_path / "b", seed=3)
    a, b = files_under(tmp_path / "a"), files_under(tmp_path / "b")
    assert {name: path.read_bytes() for name, path in a.items()} == {name: path.read_bytes() for name, path in b.items()}


def test_another_seed_gives_other_weights(tmp_path: Path) -> None:
    make_fixture("tiny", tmp_path / "other", seed=1)
    assert (tmp_path / "other" / "model.safetensors").read_bytes() != (PROJECT / FIXTURE_DIR / "model.safetensors").read_bytes()
    assert (tmp_path / "other" / "tokenizer.model").read_bytes() == (PROJECT / FIXTURE_DIR / "tokenizer.model").read_bytes()


def test_full_has_the_real_english_dimensions_and_upstream_loads_it_strictly(tmp_path: Path) -> None:
    # ~106M random parameters (430 MB on disk), built and loaded back in ~15 s.
    from pocket_tts.utils.config import CONFIGS_DIR

    out = tmp_path / "full"
    try:
        result = make_fixture("full", out)
        ours = yaml.safe_load((out / "config.yaml").read_text())
        real = yaml.safe_load((CONFIGS_DIR / "english.yaml").read_text())
        for config in (ours, real):
            for key in ("weights_path", "weights_path_without_voice_cloning"):
                config.pop(key, None)
            config["flow_lm"]["lookup_table"].pop("tokenizer_path")
            config["flow_lm"]["lookup_table"].pop("n_bins")
        assert ours == real
        model = load_model_folder(inspect_model_folder(out))
        assert result["parameters"] > 100_000_000
        assert model.flow_lm.transformer.layers[0].self_attn.num_heads == 16
    finally:
        shutil.rmtree(out, ignore_errors=True)


def test_presets_are_the_three_of_the_issue() -> None:
    assert sorted(name for name, preset in PRESETS.items() if preset.upstream == "2.1.0") == ["full", "tiny", "tiny-v1"]


def test_tokenizer_training_is_deterministic() -> None:
    assert train_tokenizer() == train_tokenizer()


def test_trained_tokenizer_copies_the_real_tokenizers_settings(oracle: Path) -> None:
    from sentencepiece import sentencepiece_model_pb2

    def proto(data: bytes) -> sentencepiece_model_pb2.ModelProto:
        model = sentencepiece_model_pb2.ModelProto()
        model.ParseFromString(data)
        return model

    real = proto((oracle / "tiny" / "tokenizer.model").read_bytes())
    ours = proto((PROJECT / FIXTURE_DIR / "tokenizer.model").read_bytes())
    for field in (
        "model_type",
        "byte_fallback",
        "split_digits",
        "allow_whitespace_only_pieces",
        "max_sentencepiece_length",
        "unk_id",
        "bos_id",
        "eos_id",
        "pad_id",
    ):
        assert getattr(ours.trainer_spec, field) == getattr(real.trainer_spec, field), field
    for field in ("name", "add_dummy_prefix", "remove_extra_whitespaces", "escape_whitespaces"):
        assert getattr(ours.normalizer_spec, field) == getattr(real.normalizer_spec, field), field
    assert REAL_TOKENIZER_SETTINGS["normalization_rule_name"] == real.normalizer_spec.name
