"""Loads a model folder in the upstream on-disk format with upstream's own loader, with typed errors.

A model folder holds ``config.yaml`` (upstream's schema), the checkpoint it names (``weights_path``) and the
SentencePiece tokenizer it names (``flow_lm.lookup_table.tokenizer_path``). Relative paths are relative to
the folder. A remote path (``hf://…``, ``https://…``) is accepted when the folder holds a file of the same
name (what ``pockettts model download`` leaves), never fetched.
"""
from __future__ import annotations

import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .protocol import JobError

CONFIG_NAME = "config.yaml"
_REMOTE = ("hf://", "http://", "https://")


@dataclass(frozen=True)
class ModelFiles:
    """The files of a model folder that the loader reads."""

    folder: Path
    config: Path
    checkpoint: Path
    tokenizer: Path


@dataclass(frozen=True)
class UpstreamModel:
    files: ModelFiles
    config: Any  # pocket_tts.utils.config.Config
    tts: Any  # pocket_tts.TTSModel, eval mode, fp32, CPU


def _local_file(folder: Path, declared: str, what: str, key: str) -> Path:
    if declared.startswith(_REMOTE):
        name = declared.split("@", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        candidate = folder / name
        if candidate.is_file():
            return candidate
        raise JobError(
            "MODEL_FILE_REMOTE",
            f"{CONFIG_NAME} names a remote {what} ({key}: {declared}) and the folder has no {name}.",
            kind="usage",
            hint="Download the model first (pockettts model download) or point the config at a local file.",
        )
    path = Path(declared)
    path = path if path.is_absolute() else folder / path
    if not path.is_file():
        raise JobError(
            "MODEL_FILE_MISSING",
            f"The {what} named by {key} in {CONFIG_NAME} does not exist: {path}.",
            kind="usage",
            hint=f"Put the {what} there or correct {key} in {folder / CONFIG_NAME}.",
        )
    return path


def read_config(folder: Path) -> tuple[Any, ModelFiles]:
    """Parses config.yaml with upstream's schema and resolves the files it names."""
    from pydantic import ValidationError
    from pocket_tts.utils.config import load_config

    if not folder.is_dir():
        raise JobError("MODEL_SOURCE_NOT_FOUND", f"No model folder at {folder}.", kind="usage",
                       hint="Pass --from a folder holding config.yaml, the checkpoint and the tokenizer.")
    config_path = folder / CONFIG_NAME
    if not config_path.is_file():
        raise JobError("MODEL_CONFIG_MISSING", f"{folder} has no {CONFIG_NAME}.", kind="usage",
                       hint="A model folder in the upstream format holds config.yaml beside the checkpoint.")
    try:
        config = load_config(config_path)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ()))
        raise JobError("MODEL_CONFIG_INVALID", f"{config_path}: {field}: {first.get('msg')}.", kind="usage",
                       hint="Fix the config; its schema is upstream pocket_tts's (unknown keys are rejected).") from error
    except Exception as error:  # yaml syntax errors and the like
        raise JobError("MODEL_CONFIG_INVALID", f"{config_path} is not a valid config: {error}", kind="usage",
                       hint="Fix the YAML syntax of the config.") from error
    if config.weights_path is None:
        raise JobError("MODEL_CONFIG_UNSUPPORTED", f"{config_path} has no top-level weights_path.", kind="usage",
                       hint="Only single-checkpoint models (weights_path: model.safetensors) can be exported.")
    checkpoint = _local_file(folder, config.weights_path, "checkpoint", "weights_path")
    tokenizer = _local_file(folder, config.flow_lm.lookup_table.tokenizer_path, "tokenizer",
                            "flow_lm.lookup_table.tokenizer_path")
    return config, ModelFiles(folder=folder, config=config_path, checkpoint=checkpoint, tokenizer=tokenizer)


def check_checkpoint_readable(path: Path) -> dict[str, list[int]]:
    """Reads the safetensors header; an unreadable or corrupt file is a typed error."""
    import safetensors

    try:
        with safetensors.safe_open(str(path), framework="pt") as handle:
            return {key: list(handle.get_slice(key).get_shape()) for key in handle.keys()}
    except Exception as error:
        raise JobError("MODEL_CHECKPOINT_UNREADABLE", f"Cannot read the checkpoint {path}: {error}", kind="model",
                       hint="The file is truncated or not a safetensors file; download it again.") from error


_MISSING = re.compile(r'Missing key\(s\) in state_dict: ((?:"[^"]+"(?:, )?)+)')
_UNEXPECTED = re.compile(r'Unexpected key\(s\) in state_dict: ((?:"[^"]+"(?:, )?)+)')
_SIZE = re.compile(r"size mismatch for ([^:]+): copying a param with shape (torch\.Size\(\[[^\]]*\]\)) from checkpoint, "
                   r"the shape in current model is (torch\.Size\(\[[^\]]*\]\))")


def _mismatch_error(error: Exception, files: ModelFiles) -> JobError:
    text = str(error)
    problems: list[str] = []
    for match in _SIZE.finditer(text):
        problems.append(f"{match.group(1)} is {match.group(2)} in the checkpoint but {match.group(3)} for the config")
    missing = _MISSING.search(text)
    if missing:
        keys = re.findall(r'"([^"]+)"', missing.group(1))
        problems.append(f"the checkpoint lacks {', '.join(keys[:3])}{' …' if len(keys) > 3 else ''}")
    unexpected = _UNEXPECTED.search(text)
    if unexpected:
        keys = re.findall(r'"([^"]+)"', unexpected.group(1))
        problems.append(f"the config has no place for {', '.join(keys[:3])}{' …' if len(keys) > 3 else ''}")
    detail = "; ".join(problems[:3]) if problems else text.splitlines()[0]
    return JobError("MODEL_CHECKPOINT_MISMATCH",
                    f"{files.checkpoint.name} does not fit {files.config.name}: {detail}{'' if detail.endswith('…') else '.'}", kind="model",
                    hint="Use the config that belongs to this checkpoint (same generation, layers and dimensions).")


@contextmanager
def _resolved_config(config: Any, files: ModelFiles) -> Iterator[Path]:
    """A temporary copy of the config naming the local files by absolute path (so nothing is fetched)."""
    import yaml

    data = config.model_dump(mode="json")
    data["weights_path"] = str(files.checkpoint)
    data["weights_path_without_voice_cloning"] = None
    data["flow_lm"]["lookup_table"]["tokenizer_path"] = str(files.tokenizer)
    data["flow_lm"]["weights_path"] = None  # the top-level checkpoint is loaded strictly and covers every key
    data["mimi"]["weights_path"] = None
    with tempfile.TemporaryDirectory(prefix="pockettts-config-") as tmp:
        path = Path(tmp) / CONFIG_NAME
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        yield path


def load_upstream_model(folder: Path) -> UpstreamModel:
    """Loads the folder with ``TTSModel.load_model(config=…)`` (strict), relative paths resolved in the folder."""
    import torch
    from pocket_tts import TTSModel

    folder = folder.resolve()
    config, files = read_config(folder)
    check_checkpoint_readable(files.checkpoint)
    try:
        with _resolved_config(config, files) as resolved:
            tts = TTSModel.load_model(config=str(resolved))
    except RuntimeError as error:
        if "Error(s) in loading state_dict" in str(error):
            raise _mismatch_error(error, files) from error
        raise
    except JobError:
        raise
    except Exception as error:
        if "sentencepiece" in type(error).__module__ or "vocab size" in str(error):
            raise JobError("MODEL_TOKENIZER_INVALID", f"The tokenizer {files.tokenizer} does not fit: {error}",
                           kind="model", hint="Use the tokenizer.model that belongs to this model.") from error
        raise
    tts.eval()
    torch.set_grad_enabled(False)
    return UpstreamModel(files=files, config=config, tts=tts)
