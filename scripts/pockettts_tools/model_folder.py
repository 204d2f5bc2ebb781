"""An upstream-format model folder (``config.yaml`` + weights + tokenizer), checked and loaded with upstream's own
loader (``TTSModel.load_model``, strict ``load_state_dict``). Every way such a folder can be wrong becomes a JobError
that names the culprit (the unknown config key, the missing checkpoint key, the missing file).

Paths inside ``config.yaml`` are relative to the folder. A remote path (``hf://…``, ``https://…``) is accepted when
the folder holds a file of the same name (what ``pockettts model download`` leaves), never fetched: the folder is
loaded through a temporary copy of its config that names the local files by absolute path.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .protocol import JobError

if TYPE_CHECKING:
    from pocket_tts import TTSModel
    from pocket_tts.utils.config import Config

CONFIG_FILE = "config.yaml"
REMOTE_PREFIXES = ("hf://", "http://", "https://")
WEIGHTS_KEYS = ("weights_path", "flow_lm.weights_path", "mimi.weights_path")
TOKENIZER_KEY = "flow_lm.lookup_table.tokenizer_path"
FOLDER_HINT = "An upstream-format model folder holds config.yaml (upstream's schema), the weights it names (model.safetensors) and the tokenizer it names (tokenizer.model); `pockettts fixture make` writes one."


@dataclass(frozen=True)
class ModelFolder:
    """A folder whose config.yaml upstream's schema accepts and whose local files exist."""

    path: Path
    config_path: Path
    config: Config
    files: Mapping[str, Path]  # config key (e.g. "weights_path") -> the local file it names

    @property
    def checkpoint(self) -> Path | None:
        """The full checkpoint (top-level ``weights_path``); None when the config names per-part weights only."""
        return self.files.get("weights_path")

    @property
    def tokenizer(self) -> Path:
        return self.files[TOKENIZER_KEY]


@dataclass(frozen=True)
class GenerationSettings:
    """The sampling settings upstream takes at load time (``TTSModel.load_model``). ``None`` is the release's
    default: 0.7 and -4 on 2.1.0; on 4.x the config's ``default_temperature`` and ``default_eos_threshold``."""

    temperature: float | None = None
    sampler_decode_steps: int = 1
    noise_clamp: float | None = None
    eos_threshold: float | None = None


def _load_model_kwargs(settings: GenerationSettings) -> dict[str, Any]:
    """``TTSModel.load_model``'s sampling arguments, per release (4.x renamed ``lsd_decode_steps`` and reads its
    defaults from the config)."""
    from .upstreams import is_v4

    if is_v4():
        return {
            "temp": settings.temperature,
            "sampler_decode_steps": settings.sampler_decode_steps,
            "noise_clamp": settings.noise_clamp,
            "eos_threshold": settings.eos_threshold,
        }
    return {
        "temp": 0.7 if settings.temperature is None else settings.temperature,
        "lsd_decode_steps": settings.sampler_decode_steps,
        "noise_clamp": settings.noise_clamp,
        "eos_threshold": -4.0 if settings.eos_threshold is None else settings.eos_threshold,
    }


@contextmanager
def working_directory(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def is_remote(path: str) -> bool:
    return path.startswith(REMOTE_PREFIXES)


def inspect_model_folder(path: Path | str) -> ModelFolder:
    """Checks a folder without loading weights: config schema (upstream's pydantic models) and local files."""
    folder = Path(path).absolute()
    if not folder.exists():
        raise JobError("NOT_A_MODEL_FOLDER", f"The model folder {folder} does not exist.", kind="model", hint=FOLDER_HINT)
    if not folder.is_dir():
        raise JobError("NOT_A_MODEL_FOLDER", f"{folder} is a file, not a model folder.", kind="model", hint=FOLDER_HINT)
    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise JobError(
            "NOT_A_MODEL_FOLDER",
            f"{folder} has no {CONFIG_FILE}, so it is not an upstream-format model folder.",
            kind="model",
            hint=FOLDER_HINT,
        )
    config = _parse_config(config_path)
    if config.weights_path is None and (config.flow_lm.weights_path is None or config.mimi.weights_path is None):
        raise JobError(
            "MODEL_WEIGHTS_UNSPECIFIED",
            f"{config_path} names no weights (weights_path, or flow_lm.weights_path with mimi.weights_path); upstream would run an uninitialised model.",
            kind="model",
            hint="Add `weights_path: model.safetensors` to config.yaml.",
        )
    files = {key: _local_file(folder, config_path, key, value) for key, value in _named_files(config)}
    return ModelFolder(path=folder, config_path=config_path, config=config, files=files)


def _parse_config(config_path: Path) -> Config:
    import pydantic
    import yaml
    from pocket_tts.utils.config import load_config

    try:
        return load_config(config_path)
    except yaml.YAMLError as error:
        raise JobError("CONFIG_INVALID", f"{config_path} is not valid YAML: {error}", kind="model", hint="Fix the YAML syntax.") from error
    except TypeError as error:
        raise JobError(
            "CONFIG_INVALID", f"{config_path} must hold a mapping of upstream config keys ({error}).", kind="model", hint=FOLDER_HINT
        ) from error
    except pydantic.ValidationError as error:
        raise _config_error(config_path, error) from error


def _config_error(config_path: Path, error: Any) -> JobError:
    problems = error.errors()
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        return JobError(
            "CONFIG_UNKNOWN_KEY",
            f'Unknown key "{where}" in {config_path}: upstream\'s config schema does not allow it.',
            kind="model",
            hint=f'Remove or rename "{where}"; the keys upstream pocket_tts {_release()} accepts are those of its config/english.yaml.',
        )
    if first["type"] == "missing":
        return JobError(
            "CONFIG_MISSING_KEY",
            f'Required key "{where}" is missing from {config_path}.',
            kind="model",
            hint=f'Add "{where}" (see upstream\'s config/english.yaml).',
        )
    others = "" if len(problems) == 1 else f" (and {len(problems) - 1} more)"
    return JobError(
        "CONFIG_INVALID_VALUE",
        f'Invalid value for "{where}" in {config_path}: {first["msg"]}{others}.',
        kind="model",
        hint=f'Correct "{where}" (see upstream\'s config/english.yaml).',
    )


def _release() -> str:
    from .upstreams import running_release

    return running_release()


def _named_files(config: Config) -> list[tuple[str, str]]:
    named = [
        ("weights_path", config.weights_path),
        ("flow_lm.weights_path", config.flow_lm.weights_path),
        ("mimi.weights_path", config.mimi.weights_path),
        (TOKENIZER_KEY, config.flow_lm.lookup_table.tokenizer_path),
    ]
    return [(key, value) for key, value in named if value is not None]


def _local_file(folder: Path, config_path: Path, key: str, value: str) -> Path:
    """The file ``key: value`` names: relative to the folder; a remote one only as a same-named file in the folder."""
    if is_remote(value):
        name = value.split("@", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if (folder / name).is_file():
            return folder / name
        raise JobError(
            "MODEL_FILE_REMOTE",
            f"{config_path} names a remote file ({key}: {value}) and the folder has no {name}.",
            kind="model",
            hint="Download the model first (pockettts model download) or point the config at a local file.",
        )
    path = folder / value  # an absolute value stays absolute
    if not path.is_file():
        raise JobError(
            "MODEL_FILE_MISSING",
            f"{config_path} names {key}: {value}, but {path} does not exist.",
            kind="model",
            hint="Paths in config.yaml are relative to the model folder; put the file there or correct the path.",
        )
    return path


def _local_config(folder: ModelFolder) -> Config:
    """The folder's config naming its local files by absolute path, so nothing is fetched and the working directory
    does not matter. A full checkpoint is loaded strictly and covers every key, so per-part weights are then dropped."""
    config, files, full = folder.config, folder.files, folder.checkpoint is not None

    def part(key: str) -> str | None:
        return None if full or key not in files else str(files[key])

    return config.model_copy(
        update={
            "weights_path": None if folder.checkpoint is None else str(folder.checkpoint),
            "weights_path_without_voice_cloning": None,
            "flow_lm": config.flow_lm.model_copy(
                update={
                    "weights_path": part("flow_lm.weights_path"),
                    "lookup_table": config.flow_lm.lookup_table.model_copy(update={"tokenizer_path": str(folder.tokenizer)}),
                }
            ),
            "mimi": config.mimi.model_copy(update={"weights_path": part("mimi.weights_path")}),
        }
    )


@contextmanager
def local_config_file(folder: ModelFolder) -> Iterator[Path]:
    """A temporary config.yaml for upstream's loader: the folder's config naming its local files by absolute path."""
    import yaml

    with tempfile.TemporaryDirectory(prefix="pockettts-config-") as tmp:
        path = Path(tmp) / CONFIG_FILE
        path.write_text(yaml.safe_dump(_local_config(folder).model_dump(mode="json"), sort_keys=False), encoding="utf-8")
        yield path


def _check_readable(path: Path) -> None:
    try:
        checkpoint_shapes(path)
    except Exception as error:  # noqa: BLE001 - safetensors raises SafetensorError, OSError, ...
        raise JobError(
            "CHECKPOINT_INVALID",
            f"The weights {path} could not be read: {error}.",
            kind="model",
            hint="The weights file is damaged or not safetensors; make or download it again.",
        ) from error


def load_model_folder(folder: ModelFolder, settings: GenerationSettings = GenerationSettings()) -> TTSModel:
    """Loads the folder with upstream's own loader (strict); failures name the key or file at fault."""
    from pocket_tts import TTSModel

    for key in WEIGHTS_KEYS:
        if key in folder.files:
            _check_readable(folder.files[key])
    try:
        with local_config_file(folder) as config_path:
            return TTSModel.load_model(config=config_path, **_load_model_kwargs(settings))
    except AssertionError as error:
        if "tokenizer has vocab size" in str(error):
            raise JobError(
                "TOKENIZER_MISMATCH",
                f"{folder.config_path}: {error}.",
                kind="model",
                hint="Set flow_lm.lookup_table.n_bins to the tokenizer's vocabulary size (and use weights made for that tokenizer).",
            ) from error
        raise
    except RuntimeError as error:
        if "Error(s) in loading state_dict" in str(error):
            raise _checkpoint_error(folder, error) from error
        if "ModelProto" in str(error) or "sentencepiece" in str(error).lower():
            raise _tokenizer_error(folder, error) from error
        raise
    except Exception as error:
        if type(error).__name__ == "SafetensorError":
            raise JobError(
                "CHECKPOINT_INVALID",
                f"The weights of {folder.path} could not be read: {error}.",
                kind="model",
                hint="The weights file is damaged or not safetensors; make or download it again.",
            ) from error
        if "sentencepiece" in type(error).__module__:
            raise _tokenizer_error(folder, error) from error
        raise


def _tokenizer_error(folder: ModelFolder, error: Exception) -> JobError:
    return JobError(
        "TOKENIZER_INVALID",
        f"The tokenizer of {folder.path} is not a SentencePiece model ({error}).",
        kind="model",
        hint="Point flow_lm.lookup_table.tokenizer_path at a SentencePiece .model file.",
    )


def _checkpoint_error(folder: ModelFolder, error: RuntimeError) -> JobError:
    """Explains a strict-load failure by comparing the checkpoint with the model upstream builds from the config."""
    file = folder.checkpoint
    if file is None:
        return JobError("CHECKPOINT_MISMATCH", f"The checkpoint does not fit the config of {folder.path}: {error}", kind="model")
    expected = expected_state_shapes(_local_config(folder))
    actual = checkpoint_shapes(file)
    missing = [key for key in expected if key not in actual]
    unexpected = [key for key in actual if key not in expected]
    mismatched = [key for key in expected if key in actual and expected[key] != actual[key]]
    if missing:
        more = (
            "" if len(missing) == 1 else f" (and {len(missing) - 1} more: {', '.join(missing[1:4])}{', ...' if len(missing) > 4 else ''})"
        )
        return JobError(
            "CHECKPOINT_KEY_MISSING",
            f'The checkpoint {file} has no tensor "{missing[0]}"{more}, which the model built from config.yaml needs.',
            kind="model",
            hint="Use weights that match config.yaml (upstream key names, e.g. flow_lm.* and mimi.*), or fix the config's dimensions.",
        )
    if unexpected:
        more = "" if len(unexpected) == 1 else f" (and {len(unexpected) - 1} more)"
        return JobError(
            "CHECKPOINT_KEY_UNEXPECTED",
            f'The checkpoint {file} has a tensor "{unexpected[0]}"{more} that the model built from config.yaml does not have.',
            kind="model",
            hint="Use weights that match config.yaml (same number of layers, same generation of model).",
        )
    if mismatched:
        key = mismatched[0]
        return JobError(
            "CHECKPOINT_SHAPE_MISMATCH",
            f'The checkpoint {file} holds "{key}" with shape {list(actual[key])}, but config.yaml makes it {list(expected[key])}.',
            kind="model",
            hint="Use weights that match config.yaml, or fix the config's dimensions.",
        )
    return JobError("CHECKPOINT_MISMATCH", f"The checkpoint {file} does not fit config.yaml: {error}", kind="model")


def build_unloaded_model(config: Config) -> TTSModel:
    """The model upstream builds from ``config`` before it loads weights (PyTorch's own random initialisation)."""
    from pocket_tts import TTSModel

    unloaded = config.model_copy(
        update={
            "weights_path": None,
            "weights_path_without_voice_cloning": None,
            "flow_lm": config.flow_lm.model_copy(update={"weights_path": None}),
            "mimi": config.mimi.model_copy(update={"weights_path": None}),
        }
    )
    upstream_logger = logging.getLogger("pocket_tts.models.tts_model")
    level = upstream_logger.level
    upstream_logger.setLevel(logging.ERROR)  # silences "model is uninitialized": that is the point here
    try:
        return TTSModel._from_pydantic_config_with_weights(unloaded, 0.7, 1, None, -4.0)
    finally:
        upstream_logger.setLevel(level)


def expected_state_shapes(config: Config) -> dict[str, tuple[int, ...]]:
    return {key: tuple(value.shape) for key, value in build_unloaded_model(config).state_dict().items()}


def checkpoint_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}
