"""Presets of random-weight fixture models (``contracts/fixture-presets.json``), as upstream config dictionaries
(upstream's schema, its key order).

- ``tiny``: the current (v2, "english") generation, small: FlowLM d_model 64, 4 heads, 2 layers; small Mimi.
- ``tiny-v1``: the first generation (``english_2026-01``): no ``mimi.inner_dim`` (the voice latent is the SEANet
  dimension), no voice BOS, ``pad_with_spaces_for_short_inputs``.
- ``full``: the real English dimensions (upstream ``config/english.yaml``), for benchmarks; ~100M parameters.
- generation ``v4`` (upstream 4.x): the config file the 4.x wheel ships for the family (``base_config``), read from
  the installed package, with ``overrides`` merged in (the tiny ones); ``tiny-4-drift``/``-point``/``-lsd`` and the
  real dimensions ``full-4-english``/``-18m``/``-7m``/``-2m``.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FixturePreset:
    name: str
    description: str
    # upstream's config for generations v1/v2; None for v4, made from the installed wheel's own file (base_config)
    config: dict[str, Any] | None
    # Weight and buffer settings applied after PyTorch's own initialisation. The EOS head is tuned by hand so that,
    # at temperature 0.7, EOS fires after a few to a few dozen steps for most seeds (a random head never "ends").
    eos_bias: float
    eos_weight_std: float
    speaker_proj_std: float
    # The voice prompt written with the fixture (seconds of synthetic speech-like signal).
    prompt_seconds: float
    # The pinned upstream release whose layout this is (contracts/upstreams.json).
    upstream: str = "2.1.0"
    base_config: str | None = None
    overrides: dict[str, Any] | None = None


def _seanet(dimension: int, n_filters: int) -> dict[str, Any]:
    return {
        "dimension": dimension,
        "channels": 1,
        "n_filters": n_filters,
        "n_residual_layers": 1,
        "ratios": [6, 5, 4],
        "kernel_size": 7,
        "residual_kernel_size": 3,
        "last_kernel_size": 3,
        "dilation_base": 2,
        "pad_mode": "constant",
        "compress": 2,
    }


def _mimi_transformer(d_model: int, num_heads: int, dim_feedforward: int) -> dict[str, Any]:
    return {
        "d_model": d_model,
        "num_heads": num_heads,
        "num_layers": 2,
        "layer_scale": 0.01,
        "context": 250,
        "dim_feedforward": dim_feedforward,
        "input_dimension": d_model,
        "output_dimensions": [d_model],
    }


def _config(
    *,
    v2: bool,
    d_model: int,
    heads: int,
    layers: int,
    flow_dim: int,
    flow_depth: int,
    mimi_dim: int,
    n_filters: int,
    mimi_heads: int,
    mimi_ff: int,
) -> dict[str, Any]:
    config: dict[str, Any] = {"weights_path": "model.safetensors"}
    if not v2:
        config["pad_with_spaces_for_short_inputs"] = True
    config["flow_lm"] = {
        "insert_bos_before_voice": v2,
        "dtype": "float32",
        "flow": {"depth": flow_depth, "dim": flow_dim},
        "transformer": {"d_model": d_model, "hidden_scale": 4, "max_period": 10000, "num_heads": heads, "num_layers": layers},
        "lookup_table": {"dim": d_model, "n_bins": 0, "tokenizer": "sentencepiece", "tokenizer_path": "tokenizer.model"},
    }
    mimi: dict[str, Any] = {"dtype": "float32", "sample_rate": 24000}
    if v2:
        mimi["inner_dim"] = 32
        mimi["outer_dim"] = mimi_dim
    mimi.update(
        {
            "channels": 1,
            "frame_rate": 12.5,
            "seanet": _seanet(mimi_dim, n_filters),
            "transformer": _mimi_transformer(mimi_dim, mimi_heads, mimi_ff),
            "quantizer": {"dimension": 32, "output_dimension": mimi_dim},
        }
    )
    config["mimi"] = mimi
    return config


def _load_presets() -> dict[str, FixturePreset]:
    contract = json.loads(CONTRACT_FILE.read_text(encoding="utf-8"))
    return {
        name: FixturePreset(
            name=name,
            description=entry["description"],
            config=None if entry["generation"] == "v4" else _config(v2=entry["generation"] == "v2", **entry["dimensions"]),
            eos_bias=float(entry["eos_bias"]),
            eos_weight_std=float(entry["eos_weight_std"]),
            speaker_proj_std=float(entry["speaker_proj_std"]),
            prompt_seconds=float(entry["prompt_seconds"]),
            upstream=entry["upstream"],
            base_config=entry.get("base_config"),
            overrides=entry.get("overrides"),
        )
        for name, entry in contract["presets"].items()
    }


# The presets are the project's one table, contracts/fixture-presets.json (the CLI lists the same names).
CONTRACT_FILE = Path(__file__).resolve().parents[2] / "contracts" / "fixture-presets.json"
PRESETS: dict[str, FixturePreset] = _load_presets()


def preset_config(preset: FixturePreset, n_bins: int) -> dict[str, Any]:
    """The preset's config.yaml content for a tokenizer of ``n_bins`` pieces."""
    config = copy.deepcopy(preset.config) if preset.config is not None else wheel_config(preset)
    config["flow_lm"]["lookup_table"]["n_bins"] = n_bins
    return config


def wheel_config(preset: FixturePreset) -> dict[str, Any]:
    """A v4 preset's config: the installed release's own ``config/<base_config>.yaml`` with the overrides merged
    in, the weights in the folder's model.safetensors and the folder's SentencePiece tokenizer.model."""
    import yaml
    from pocket_tts.utils.config import CONFIGS_DIR

    assert preset.base_config is not None
    path = Path(CONFIGS_DIR) / f"{preset.base_config}.yaml"
    if not path.is_file():
        from .protocol import JobError

        raise JobError(
            "PRESET_UNSUPPORTED",
            f"The preset {preset.name} is built from upstream's config/{preset.base_config}.yaml, which this pocket-tts does not ship.",
            kind="usage",
            hint=f"Run it with upstream {preset.upstream} (--upstream {preset.upstream}).",
        )
    config = _merge(yaml.safe_load(path.read_text(encoding="utf-8")), preset.overrides or {})
    config["weights_path"] = "model.safetensors"
    config.pop("weights_path_without_voice_cloning", None)
    config["flow_lm"].pop("weights_path", None)
    config["mimi"].pop("weights_path", None)
    config["flow_lm"]["lookup_table"].update({"tokenizer": "sentencepiece", "tokenizer_path": "tokenizer.model"})
    return {"weights_path": config.pop("weights_path"), **config}


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in key by key (nested mappings merged, anything else replaced)."""
    merged = dict(base)
    for key, value in overrides.items():
        merged[key] = _merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged
