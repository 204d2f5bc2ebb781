"""The exported graphs, driven only through the manifest's contract, replay every golden case that upstream
recorded on the oracle's tiny model: voice state from voice.safetensors, the noise tape, free-running AR loop
with upstream's stopping rule, Mimi state chained blindly from the state table. This is the loop the
TypeScript engine implements."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

SCRIPTS = Path(__file__).resolve().parents[1]
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

DTYPES = {"float32": np.float32, "int64": np.int64, "bool": np.bool_}


@pytest.fixture(scope="module")
def export(oracle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "tiny-onnx"
    process = subprocess.run(
        [sys.executable, "-m", "pockettts_tools.export_onnx", "--from", str(oracle / "tiny"), "--out", str(out), "--max-steps", "4"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SCRIPTS)},
        timeout=600,
    )
    assert process.returncode == 0, process.stderr[-2000:]
    return out


class Runtime:
    """A minimal driver of the graphs that knows only manifest.json."""

    def __init__(self, folder: Path) -> None:
        from pockettts_tools.graph_checks import open_session

        self.folder = folder
        self.manifest = json.loads((folder / "manifest.json").read_text())
        self.sessions = {name: open_session(folder / g["file"]) for name, g in self.manifest["graphs"].items()}
        self.model = self.manifest["model"]

    def run(self, graph: str, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from pockettts_tools.graph_checks import run

        return run(self.sessions[graph], feeds)

    def initial_state(self, graph: str) -> dict[str, np.ndarray]:
        entry = self.manifest["graphs"][graph]
        specs = {t["name"]: t for t in entry["inputs"]}
        state = {}
        for link in entry["state"]:
            spec = specs[link["input"]]
            shape = [0 if isinstance(d, str) else d for d in spec["shape"]]
            state[link["input"]] = (np.ones if link["init"] == "ones" else np.zeros)(shape, DTYPES[spec["dtype"]])
        return state

    def past_feeds(self, kv: np.ndarray) -> dict[str, np.ndarray]:
        """flow_lm_main's past inputs from the time-major rows of every new_kv so far, by the state table:
        an ``append`` link from new_kv with ``index`` (i, j) takes kv[:, i, j] as [1, P, heads, head_dim]; a past
        shorter than ``capacities.min_past_rows`` gets zero rows in front (before position 0: the mask drops them)."""
        entry = self.manifest["graphs"]["flow_lm_main"]
        links = [link for link in entry["state"] if link["output"] == "new_kv"]
        assert links, "flow_lm_main has no state fed from new_kv"
        short = int(entry["capacities"].get("min_past_rows", 0)) - kv.shape[0]
        if short > 0:
            kv = np.concatenate([np.zeros((short, *kv.shape[1:]), kv.dtype), kv])
        return {link["input"]: np.ascontiguousarray(kv[(None, slice(None), *link["index"])]) for link in links}

    def empty_kv(self) -> np.ndarray:
        spec = next(t for t in self.manifest["graphs"]["flow_lm_main"]["outputs"] if t["name"] == "new_kv")
        return np.zeros([0, *spec["shape"][1:]], np.float32)

    def voice_kv(self, path: Path) -> np.ndarray:
        """An upstream voice state file as time-major rows [P, layers, 2, heads, head_dim] (what new_kv stacks)."""
        from safetensors.numpy import load_file

        tensors = load_file(str(path))
        layers = self.model["num_layers"]
        offset = int(tensors["transformer.layers.0.self_attn/offset"][0])
        caches = [tensors[f"transformer.layers.{i}.self_attn/cache"][:, 0, :offset] for i in range(layers)]
        return np.ascontiguousarray(np.stack(caches, axis=0).transpose(2, 0, 1, 3, 4))


def synthesize_chunk(
    rt: Runtime, voice_kv: np.ndarray, tokens: np.ndarray, noise_tape: list[np.ndarray], case: dict[str, Any], chunk: dict[str, Any]
) -> dict[str, list[np.ndarray]]:
    d, latent_dim = rt.model["d_model"], rt.model["latent_dim"]
    kv = voice_kv
    taps: dict[str, list[np.ndarray]] = {k: [] for k in ("hidden", "eos_logit", "layer_out", "latent", "mimi_input", "audio")}

    def flow_lm(conditioning: np.ndarray, latents: np.ndarray) -> dict[str, np.ndarray]:
        nonlocal kv
        out = rt.run(
            "flow_lm_main",
            {"conditioning": conditioning, "latents": latents, "offset": np.array([kv.shape[0]], np.int64), **rt.past_feeds(kv)},
        )
        kv = np.concatenate([kv, out["new_kv"]], axis=0)
        assert int(out["new_offset"][0]) == kv.shape[0]
        return out

    text = rt.run("text_conditioner", {"tokens": tokens[None]})["text_embeddings"]
    flow_lm(text, np.zeros((1, 0, latent_dim), np.float32))
    draws = iter(noise_tape[1:])  # the text prefill's draw is discarded
    k = case["lsd_decode_steps"]
    previous = np.full((1, 1, latent_dim), np.nan, np.float32)
    eos_step = None
    latents = []
    for step in range(chunk["max_gen_len"]):
        out = flow_lm(np.zeros((1, 0, d), np.float32), previous)
        x = next(draws)[None].astype(np.float32)
        for i in range(k):
            s, t = np.full((1, 1), i / k, np.float32), np.full((1, 1), (i + 1) / k, np.float32)
            x = x + rt.run("flow_lm_flow", {"hidden": out["hidden"], "s": s, "t": t, "x": x})["flow_dir"] / k
        for name in ("hidden", "eos_logit", "layer_out"):
            taps[name].append(out[name][0])
        taps["latent"].append(x[0])
        if float(out["eos_logit"][0, 0]) > case["eos_threshold"] and eos_step is None:
            eos_step = step
        if eos_step is not None and step >= eos_step + chunk["frames_after_eos"]:
            break
        latents.append(x)
        previous = x[:, None, :]
    assert eos_step == chunk["eos_step"]
    links = rt.manifest["graphs"]["mimi_decoder"]["state"]
    state = rt.initial_state("mimi_decoder")
    for latent in latents:
        mimi_input = rt.run("latent_to_mimi", {"latent": latent[:, None, :]})["mimi_input"]
        out = rt.run("mimi_decoder", {"mimi_input": mimi_input, **state})
        state = {link["input"]: out[link["output"]] for link in links}
        taps["mimi_input"].append(mimi_input[0, :, 0])
        taps["audio"].append(out["audio"].reshape(-1))
    return taps


TOLERANCE = {"hidden": 1e-4, "eos_logit": 1e-4, "layer_out": 1e-4, "latent": 1e-4, "mimi_input": 1e-4, "audio": 1e-4}


@pytest.mark.parametrize("name", ["hello", "temp0", "short", "lsd4", "long"])
def test_graphs_replay_the_golden_case(export: Path, oracle: Path, name: str) -> None:
    rt = Runtime(export)
    golden = oracle / "tiny" / "golden" / name
    manifest = json.loads((golden / "manifest.json").read_text())
    case = manifest["case"]
    voice_kv = rt.voice_kv(export / case["voice"])
    for c, chunk in enumerate(manifest["chunks"]):

        def g(tensor: str, c: int = c) -> np.ndarray:
            return np.load(golden / f"chunk{c}.{tensor}.npy")

        tape = [g("prefill_noise"), *g("noise")]
        taps = synthesize_chunk(rt, voice_kv, g("tokens"), tape, case, chunk)
        assert len(taps["hidden"]) == chunk["steps"]
        assert len(taps["audio"]) == chunk["frames"]
        for tap, tolerance in TOLERANCE.items():
            expected = g(tap)
            actual = np.concatenate(taps[tap]) if tap == "audio" else np.stack(taps[tap]).reshape(expected.shape)
            worst = float(np.abs(actual - expected).max())
            assert worst <= tolerance, f"{name} chunk {c} {tap}: max abs {worst:.3g}"


def test_encoder_graph_reproduces_the_golden_voice_case(export: Path, oracle: Path) -> None:
    rt = Runtime(export)
    golden = oracle / "tiny" / "golden" / "voice"
    audio = np.load(golden / "audio.npy")
    frame = rt.model["frame_size"]
    padded = np.pad(audio, ((0, 0), (0, 0), (0, (-audio.shape[-1]) % frame)))
    out = rt.run("mimi_encoder", {"audio": padded})
    assert np.abs(out["mimi_latent"] - np.load(golden / "mimi_latent.npy")).max() <= 1e-4
    assert np.abs(out["conditioning"] - np.load(golden / "conditioning.npy")).max() <= 1e-4
    # and the voice prefill of that conditioning gives back the exported voice state (voice.safetensors)
    latent_dim = rt.model["latent_dim"]
    prefill = rt.run(
        "flow_lm_main",
        {
            "conditioning": out["conditioning"],
            "latents": np.zeros((1, 0, latent_dim), np.float32),
            "offset": np.zeros(1, np.int64),
            **rt.past_feeds(rt.empty_kv()),
        },
    )
    assert np.abs(prefill["new_kv"] - rt.voice_kv(export / "voice.safetensors")).max() <= 1e-3
