"""Job: the architecture of every config the running upstream release ships, as data the project owns.

    PYTHONPATH=scripts .venv-4.0.1/bin/python -m pockettts_tools.config_architectures --upstream 4.0.1 \
        --out contracts/architectures-4.0.1.json [--check]

Reads the installed package's own ``pocket_tts/config/*.yaml`` and keeps each config without its hub paths
(``weights_path``, ``weights_path_without_voice_cloning``, ``flow_lm.weights_path``, ``mimi.weights_path``,
``flow_lm.lookup_table.tokenizer_path``: the catalogue's job, src/hub/catalogue.ts), keys in upstream's order,
values as upstream's YAML parser reads them. ``pockettts model download`` writes a folder's ``config.yaml`` from it
with local paths. ``--check`` writes nothing and fails (ARCHITECTURES_STALE) when the file differs from the package.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .atomic_output import atomic_file
from .job_args import JobArgumentParser
from .protocol import JobError, run_job
from .upstreams import contract, running_release

FORMAT = "pockettts-architectures/1"
# Hub paths a config names: the catalogue pins them, and model download replaces them with the folder's files.
TOP_LEVEL_PATHS = ("weights_path", "weights_path_without_voice_cloning")
PART_PATHS = ("weights_path",)
TOKENIZER_PATH = "tokenizer_path"


def without_paths(config: dict[str, Any]) -> dict[str, Any]:
    """An upstream config without the hub paths it names (in upstream's key order)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key in TOP_LEVEL_PATHS:
            continue
        if key in ("flow_lm", "mimi") and isinstance(value, dict):
            part = {k: v for k, v in value.items() if k not in PART_PATHS}
            if isinstance(part.get("lookup_table"), dict):
                part["lookup_table"] = {k: v for k, v in part["lookup_table"].items() if k != TOKENIZER_PATH}
            value = part
        out[key] = value
    return out


def installed_architectures() -> dict[str, Any]:
    """Every config of the installed pocket_tts, by name (the YAML file's stem), sorted by name."""
    import yaml
    from pocket_tts.utils.config import CONFIGS_DIR

    release = running_release()
    configs = {p.stem: without_paths(yaml.safe_load(p.read_text(encoding="utf-8"))) for p in sorted(CONFIGS_DIR.glob("*.yaml"))}
    if not configs:
        raise JobError("UPSTREAM_CONFIGS_MISSING", f"pocket-tts {release} at {CONFIGS_DIR} ships no config/*.yaml.", kind="prerequisite")
    return {
        "format": FORMAT,
        "about": (
            f"The architecture of every config upstream pocket-tts {release} ships (pocket_tts/config/<name>.yaml), without "
            "the hub paths (src/hub/catalogue.ts pins those): what `pockettts model download` writes to a folder's config.yaml "
            "with local paths. Generated from the installed package by `python -m pockettts_tools.config_architectures`; "
            "do not edit by hand."
        ),
        "upstream": release,
        "configs": configs,
    }


def regenerate_command(release: str, out: Path) -> str:
    venv = contract()["releases"][release]["venv"]
    return f"PYTHONPATH=scripts {venv}/bin/python -m pockettts_tools.config_architectures --upstream {release} --out {out}"


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> dict[str, Any]:
    parser = JobArgumentParser(prog="config_architectures", description="Write (or check) the architecture of every upstream config.")
    parser.add_argument("--out", required=True, type=Path, help="the JSON file (contracts/architectures-<release>.json)")
    parser.add_argument("--check", action="store_true", help="compare the file with the installed package; write nothing")
    args = parser.parse_args(argv)
    text = render(installed_architectures())
    data = json.loads(text)
    if args.check:
        existing = args.out.read_text(encoding="utf-8") if args.out.exists() else None
        if existing != text:
            stored = {} if existing is None else json.loads(existing).get("configs", {})
            differ = sorted(name for name in set(stored) | set(data["configs"]) if stored.get(name) != data["configs"].get(name))
            raise JobError(
                "ARCHITECTURES_STALE",
                f"{args.out} {'is missing' if existing is None else 'differs from the installed package'}"
                + (f" (configs: {', '.join(differ)})" if differ else " (layout only)")
                + ".",
                kind="runtime",
                hint=f"Regenerate it: {regenerate_command(data['upstream'], args.out)}.",
            )
        return {"out": str(args.out), "upstream": data["upstream"], "configs": len(data["configs"]), "status": "verified"}
    with atomic_file(args.out) as staging:
        staging.write_text(text, encoding="utf-8")
    return {"out": str(args.out), "upstream": data["upstream"], "configs": len(data["configs"]), "status": "written"}


if __name__ == "__main__":
    run_job(main)
