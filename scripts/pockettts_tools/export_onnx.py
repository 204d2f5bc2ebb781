"""Job: export an upstream-format model folder to ONNX graphs + manifest.json + an embedded golden.

    python -m pockettts_tools.export_onnx --from MODEL_DIR --out OUT_DIR

OUT_DIR is written in place (the TypeScript driver passes a temporary folder and renames it at the end).
Progress, the result and typed errors go through ``protocol``. See README "pockettts model export".
"""

from __future__ import annotations

import argparse
import errno
import importlib.util
import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from . import __version__
from .model_facts import ModelFacts
from .model_folder import CONFIG_FILE, ModelFolder, inspect_model_folder, load_model_folder
from .protocol import ErrorKind, JobError, progress, run_job
from .upstreams import running_release

FORMAT = "pockettts-onnx/1"
REQUIRED_MODULES = ("torch", "pocket_tts", "onnx", "onnxruntime", "numpy", "safetensors", "yaml", "jsonschema")
# The model folder's errors under the codes `pockettts model export` documents (README); others pass unchanged.
_SOURCE_ERRORS: dict[str, tuple[str, ErrorKind]] = {
    **dict.fromkeys(
        ("CONFIG_INVALID", "CONFIG_UNKNOWN_KEY", "CONFIG_MISSING_KEY", "CONFIG_INVALID_VALUE"), ("MODEL_CONFIG_INVALID", "usage")
    ),
    "MODEL_WEIGHTS_UNSPECIFIED": ("MODEL_CONFIG_UNSUPPORTED", "usage"),
    "MODEL_FILE_MISSING": ("MODEL_FILE_MISSING", "usage"),
    "MODEL_FILE_REMOTE": ("MODEL_FILE_REMOTE", "usage"),
    "CHECKPOINT_INVALID": ("MODEL_CHECKPOINT_UNREADABLE", "model"),
    **dict.fromkeys(
        ("CHECKPOINT_KEY_MISSING", "CHECKPOINT_KEY_UNEXPECTED", "CHECKPOINT_SHAPE_MISMATCH", "CHECKPOINT_MISMATCH"),
        ("MODEL_CHECKPOINT_MISMATCH", "model"),
    ),
    **dict.fromkeys(("TOKENIZER_MISMATCH", "TOKENIZER_INVALID"), ("MODEL_TOKENIZER_INVALID", "model")),
}


def _require_modules() -> None:
    """Fails fast, before any slow import, when the interpreter lacks a module of the tooling."""
    missing = [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise JobError(
            "PYTHON_MODULE_MISSING",
            f"The Python at {sys.executable} lacks {'module' if len(missing) == 1 else 'modules'} {', '.join(missing)}.",
            kind="prerequisite",
            hint="Run `npm run setup:python` (creates .venv/ with everything pinned), or pass --python an "
            "interpreter with scripts/requirements.txt installed (torch==2.13.0 CPU first).",
        )


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pockettts_tools.export_onnx", description=__doc__)
    parser.add_argument("--from", dest="source", required=True, type=Path, help="model folder (config.yaml, checkpoint, tokenizer)")
    parser.add_argument("--out", required=True, type=Path, help="folder to write (created; must be empty)")
    parser.add_argument(
        "--max-steps", type=int, default=None, help="cap on the reference run's AR steps (default: upstream's max_gen_len, a full run)"
    )
    parser.add_argument(
        "--int8",
        action="store_true",
        help="int8 weights for the FlowLM transformer's, flow head's and Mimi decoder transformer's matmuls (onnxruntime quantisation), see quantize_int8.py",
    )
    parser.add_argument(
        "--batched",
        action="store_true",
        help="also the serving graphs with a batch axis (batched_graphs.py), which serve --batching loads instead of flow_lm_main/flow_lm_flow",
    )
    return parser.parse_args(argv)


def _versions() -> dict[str, str]:
    import numpy
    import onnx
    import onnxruntime
    import torch

    return {
        "pocket_tts": metadata.version("pocket-tts"),
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "numpy": numpy.__version__,
    }


def _generation_defaults(tts: Any, max_tokens: int, facts: ModelFacts) -> dict[str, Any]:
    from pocket_tts import default_parameters as defaults

    return {
        "temperature": facts.default_temperature,
        "lsd_decode_steps": facts.sampler["decode_steps"],
        "noise_clamp": defaults.DEFAULT_NOISE_CLAMP,
        "eos_threshold": facts.default_eos_threshold,
        "max_tokens_per_chunk": max_tokens,
        "tokens_per_second_estimate": tts._TOKENS_PER_SECOND_ESTIMATE,
        "gen_seconds_padding": tts._GEN_SECONDS_PADDING,
        "max_gen_len": "ceil((n_tokens / tokens_per_second_estimate + gen_seconds_padding) * frame_rate)",
        "frames_after_eos": "model_recommended_frames_after_eos if set, else 5 for a chunk of <= 4 words, else 3",
    }


def _check_exportable(facts: ModelFacts, int8: bool, batched: bool = False) -> None:
    """Refuses, before the slow work, what has no graph: a sampler head type without one, --int8 or --batched on a head
    other than LSD."""
    kind = facts.sampler["type"]
    if kind not in ("lsd", "flow_matching", "drifting", "pointwise"):
        raise JobError(
            "EXPORT_SAMPLER_UNSUPPORTED",
            f"The config's sampler head type {kind!r} has no exported graph (lsd, flow_matching, drifting and pointwise do).",
            kind="usage",
            hint="Export a model whose flow_lm.flow.type is lsd, flow_matching, drifting or pointwise.",
        )
    for flag, asked, code in (("--int8", int8, "EXPORT_INT8_UNSUPPORTED"), ("--batched", batched, "EXPORT_BATCHED_UNSUPPORTED")):
        if asked and kind != "lsd":
            raise JobError(
                code, f"{flag} supports LSD sampler heads; this model's head is {kind}.", kind="usage", hint=f"Export without {flag}."
            )


def _tokenizer_file(facts: ModelFacts) -> str:
    """The tokenizer's name in the export: a SentencePiece model or a tokenizers ``tokenizer.json`` (4.x)."""
    return "tokenizer.json" if facts.tokenizer == "tokenizers" else "tokenizer.model"


def load_source(source: Path) -> tuple[ModelFolder, Path, Any]:
    """The source folder, its full checkpoint and the model upstream loads from it (strict; eval mode, no grad)."""
    import torch

    if not source.is_dir():
        raise JobError(
            "MODEL_SOURCE_NOT_FOUND",
            f"No model folder at {source}.",
            kind="usage",
            hint="Pass --from a folder holding config.yaml, the checkpoint and the tokenizer.",
        )
    if not (source / CONFIG_FILE).is_file():
        raise JobError(
            "MODEL_CONFIG_MISSING",
            f"{source} has no {CONFIG_FILE}.",
            kind="usage",
            hint="A model folder in the upstream format holds config.yaml beside the checkpoint.",
        )
    try:
        folder = inspect_model_folder(source)
        if folder.checkpoint is None:
            raise JobError(
                "MODEL_CONFIG_UNSUPPORTED",
                f"{folder.config_path} has no top-level weights_path.",
                kind="usage",
                hint="Only single-checkpoint models (weights_path: model.safetensors) can be exported.",
            )
        tts = load_model_folder(folder)
    except JobError as error:
        code, kind = _SOURCE_ERRORS.get(error.code, (error.code, error.kind))
        raise JobError(code, error.message, kind=kind, hint=error.hint) from error
    tts.eval()
    torch.set_grad_enabled(False)
    return folder, folder.checkpoint, tts


def _config_json(config: Any, checkpoint: Path, voices_tokenizer: str) -> dict[str, Any]:
    data: dict[str, Any] = config.model_dump(mode="json")
    data["weights_path"] = checkpoint.name
    data["weights_path_without_voice_cloning"] = None
    data["flow_lm"]["lookup_table"]["tokenizer_path"] = voices_tokenizer
    return data


def export(source: Path, out: Path, max_steps: int | None = None, int8: bool = False, batched: bool = False) -> dict[str, Any]:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise JobError(
            "EXPORT_OUT_NOT_EMPTY", f"{out} exists and is not an empty folder.", kind="usage", hint="Pass a new or empty folder."
        )
    progress("load", message=f"loading {source} with upstream pocket_tts")
    from .batched_graphs import batched_cases, build_batched_graphs
    from .export_golden import VOICE_PROMPT, write_export_golden
    from .fused_attention import MIN_PAST_ROWS, ROPE_TABLE_FACTOR
    from .graph_checks import call_set, check_graph, open_session, recorded_cases, run_chain
    from .graph_defs import build_graphs
    from .graph_rewrites import GRAPH_REWRITES, rewrite_file
    from .model_facts import capacities, model_facts
    from .model_files import copy_file, file_entry, find_voices, sha256_file
    from .onnx_export import OPSET, export_graph
    from .reference_run import record_reference, write_voice_prompt
    from .step_graph import COMBINED_GRAPH, wants_step_graph

    folder, checkpoint, tts = load_source(source)
    facts = model_facts(tts, folder.config)
    _check_exportable(facts, int8, batched)
    caps = capacities(tts, facts)
    voices, skipped = find_voices(folder.path, checkpoint, facts)
    out.mkdir(parents=True, exist_ok=True)

    progress("record", message="a short generation through upstream, recorded")
    write_voice_prompt(out / VOICE_PROMPT, facts.sample_rate)
    ref = record_reference(tts, facts, out / VOICE_PROMPT, caps.max_chunk_tokens, max_steps=max_steps)

    # optional serving graphs (--batched), checked against upstream's recorded FlowLM calls
    serving = build_batched_graphs(tts, facts) if batched else []
    batched = {g.name for g in serving}
    rope_positions = ROPE_TABLE_FACTOR * caps.flow_kv_positions
    graphs = build_graphs(tts, facts, rope_positions) + serving
    rewrites: dict[str, list[str]] = {}
    for index, graph in enumerate(graphs):
        progress("export", index, len(graphs), message=graph.name)
        export_graph(graph, out / f"{graph.name}.onnx")
        # cheaper equivalent node forms for onnxruntime CPU; the checks below run on the rewritten graph
        counts = rewrite_file(out / f"{graph.name}.onnx", GRAPH_REWRITES.get(graph.name, []))
        substituted = [graph.substitution] if graph.forwards and graph.substitution else []
        rewrites[graph.name] = substituted + [name for name, count in counts.items() if count > 0]

    per_graph_capacity = {
        "flow_lm_main": {"past_kv_rows": caps.flow_kv_positions, "max_positions": rope_positions, "min_past_rows": MIN_PAST_ROWS},
        "mimi_decoder": {"attention_window": caps.mimi_attention_window},
    }
    sessions: dict[str, Any] = {}
    graph_entries: dict[str, Any] = {}
    failures: list[str] = []
    call_sets: dict[str, Any] = {}
    for index, graph in enumerate(graphs):
        progress("check", index, len(graphs), message=f"{graph.name} against upstream")
        sessions[graph.name] = open_session(out / f"{graph.name}.onnx")
        cases = batched_cases(graph.name, ref) if graph.name in batched else recorded_cases(graph.name, ref)
        result = check_graph(graph, sessions[graph.name], cases)
        failures += [f"{graph.name}.{name} (max abs {r.max_abs:.3g})" for name, r in result.outputs.items() if not r.passed]
        call_sets[graph.name] = list(batched_cases(graph.name, ref)) if graph.name in batched else call_set(graph.name, ref)
        graph_entries[graph.name] = {
            "file": f"{graph.name}.onnx",
            "description": graph.description,
            "inputs": [s.to_json() for s in graph.inputs],
            "outputs": [s.to_json() for s in graph.outputs],
            "state": [link.to_json() for link in graph.state],
            "capacities": per_graph_capacity.get(graph.name, {}),
            "rewrites": rewrites[graph.name],
            "check": {"tolerance": graph.tolerance, "export": result.to_json()},
        }
    if failures:
        raise JobError(
            "EXPORT_CHECK_FAILED",
            f"The exported graphs differ from upstream beyond tolerance: {', '.join(failures)}.",
            kind="runtime",
            hint="This is a bug in the exporter for this model; report it with --verbose output.",
        )

    progress("chain", message="prefill, AR steps and Mimi frames on ONNX Runtime vs upstream")
    chain = run_chain({g.name: g for g in graphs}, sessions, ref)
    if not chain["passed"]:
        raise JobError(
            "EXPORT_CHAIN_FAILED",
            f"The ONNX chain does not reproduce upstream's run: {json.dumps(chain)}",
            kind="runtime",
            hint="This is a bug in the exporter for this model; report it with --verbose output.",
        )

    if wants_step_graph(facts.sampler["type"]):
        progress("combine", message=f"{COMBINED_GRAPH}: flow_lm_main then flow_lm_flow in one graph, checked against both and upstream")
        graph_entries[COMBINED_GRAPH], call_sets[COMBINED_GRAPH] = _combined_step_graph(out, graphs, sessions, ref, graph_entries)

    quantization: dict[str, Any] | None = None
    if int8:
        from .quantize_int8 import quantize_export

        progress(
            "int8",
            message="int8 FlowLM, flow head and Mimi transformer matmuls; re-checked against upstream, parity against the fp32 chain",
        )
        quantization = quantize_export(out, {g.name: g for g in graphs}, sessions, ref, graph_entries, facts.d_model)

    progress("files", message="golden, tokenizer, voices, hashes and manifest")
    golden = write_export_golden(out, ref, call_sets)
    if int8 and golden["replayable"]:
        golden = {
            **golden,
            "replayable": False,
            "reason": "int8 graphs are held to their own tolerances, not fp32 parity (see quantization)",
        }
    tokenizer_name = _tokenizer_file(facts)
    copy_file(folder.tokenizer, out / tokenizer_name)
    for voice in voices:
        copy_file(voice.source, out / voice.relative)
    for entry in graph_entries.values():
        path = out / entry["file"]
        entry["sha256"], entry["size"] = sha256_file(path), path.stat().st_size
    every_file = sorted(p for p in out.rglob("*") if p.is_file())
    manifest = {
        "format": FORMAT,
        "generation": facts.generation,
        "model": {**facts.to_json(), "config": _config_json(folder.config, checkpoint, tokenizer_name)},
        "generation_defaults": _generation_defaults(tts, caps.max_chunk_tokens, facts),
        "capacities": caps.to_json(),
        "graphs": graph_entries,
        "tokenizer": {**file_entry(out, out / tokenizer_name), "kind": facts.tokenizer, "vocab_size": facts.vocab_size},
        "voices": [{**file_entry(out, out / v.relative), "kind": v.kind, **v.info} for v in voices],
        "files": [file_entry(out, p) for p in every_file],
        "source": {
            "folder": folder.path.name,
            # "name", not "file": these are files of the source folder, not of this one
            "config": {"name": folder.config_path.name, "sha256": sha256_file(folder.config_path)},
            "checkpoint": {"name": checkpoint.name, "sha256": sha256_file(checkpoint), "size": checkpoint.stat().st_size},
            "tokenizer": {"name": folder.tokenizer.name, "sha256": sha256_file(folder.tokenizer)},
            "skipped_files": skipped,
        },
        "exporter": {
            "name": "pockettts_tools.export_onnx",
            "version": __version__,
            "opset": OPSET,
            "upstream": running_release(),
            **_versions(),
        },
        "golden": golden,
        "checks": {"passed": True, "graphs": {n: e["check"]["export"] for n, e in graph_entries.items()}, "chain": chain},
        **({} if quantization is None else {"quantization": quantization}),
    }
    from .contracts import validate  # jsonschema: imported after _require_modules has checked it

    validate("manifest", json.loads(json.dumps(manifest)), "manifest.json")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    result = {
        "out": str(out),
        "generation": facts.generation,
        "graphs": {
            n: {"file": e["file"], "size": e["size"], "max_abs": e["check"]["export"]["max_abs"], "calls": e["check"]["export"]["calls"]}
            for n, e in graph_entries.items()
        },
        "chain": chain,
        "voices": [v.relative for v in voices],
        "skipped": skipped,
        **({} if quantization is None else {"quantization": quantization}),
    }
    validate("export-result", json.loads(json.dumps(result)), "export result")
    return result


def _combined_step_graph(
    out: Path, graphs: list[Any], sessions: dict[str, Any], ref: Any, entries: dict[str, Any]
) -> tuple[dict[str, Any], list[Any]]:
    """Composes the exported flow_lm_main and flow_lm_flow files into the optional one-call step graph, checks it
    and returns its manifest entry and golden call set (step_graph.py)."""
    from .graph_checks import open_session
    from .step_graph import (
        COMBINED_GRAPH,
        HEAD_GRAPH,
        MAIN_GRAPH,
        check_step_graph,
        combined_entry,
        combined_tolerance,
        compose_step_graph,
        step_cases,
    )

    path = out / f"{COMBINED_GRAPH}.onnx"
    nodes = compose_step_graph(out / f"{MAIN_GRAPH}.onnx", out / f"{HEAD_GRAPH}.onnx", path)
    defs = {g.name: g for g in graphs}
    tolerance = combined_tolerance(defs[MAIN_GRAPH].tolerance, defs[HEAD_GRAPH].tolerance)
    result, pair_max = check_step_graph(open_session(path), sessions[MAIN_GRAPH], sessions[HEAD_GRAPH], ref, tolerance)
    if not result.passed:
        raise JobError(
            "EXPORT_CHECK_FAILED",
            f"The combined {COMBINED_GRAPH} graph differs beyond tolerance: {', '.join(result.to_json()['failed'])}.",
            kind="runtime",
            hint="This is a bug in the exporter for this model; report it with --verbose output.",
        )
    entry = combined_entry(entries[MAIN_GRAPH], entries[HEAD_GRAPH], {"tolerance": tolerance, "export": result.to_json()}, nodes, pair_max)
    keep = {"ar_step_0", "ar_step_1"}
    return entry, [c for c in step_cases(ref) if c.name in keep]


def main(argv: list[str]) -> dict[str, Any]:
    args = _parse(argv)
    _require_modules()
    try:
        return export(args.source.resolve(), args.out.resolve(), args.max_steps, args.int8, args.batched)
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise JobError(
                "DISK_FULL",
                f"No space left on the disk while writing {args.out}.",
                kind="prerequisite",
                hint="Free some space (an export needs about twice the checkpoint size) or export elsewhere.",
            ) from error
        raise


if __name__ == "__main__":
    run_job(main)
