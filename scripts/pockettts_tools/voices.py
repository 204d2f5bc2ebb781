"""Voice inputs of a synthesis: a voice-state file (``.safetensors``, what ``export-voice`` writes) or a prompt WAV."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .protocol import JobError

if TYPE_CHECKING:
    from pocket_tts import TTSModel

    from .model_folder import ModelFolder

AUDIO_SUFFIXES = (".wav", ".mp3", ".flac", ".ogg")


def resolve_voice(folder: ModelFolder, voice: str | None) -> Path:
    """The voice file: as given (relative to the working directory), else the model folder's voice.safetensors."""
    if voice is None:
        default = folder.path / "voice.safetensors"
        if not default.is_file():
            raise JobError(
                "VOICE_REQUIRED",
                f"No voice given and {folder.path} has no voice.safetensors.",
                kind="usage",
                hint="Pass --voice with a voice-state .safetensors (from export-voice) or a prompt .wav.",
            )
        return default
    path = Path(voice).absolute()
    if not path.is_file():
        raise JobError(
            "VOICE_NOT_FOUND",
            f"The voice file {path} does not exist.",
            kind="usage",
            hint="Pass --voice with an existing voice-state .safetensors (from export-voice) or a prompt .wav.",
        )
    if path.suffix.lower() != ".safetensors" and path.suffix.lower() not in AUDIO_SUFFIXES:
        raise JobError(
            "VOICE_FORMAT_UNSUPPORTED",
            f"The voice file {path} is neither a voice state (.safetensors) nor audio ({', '.join(AUDIO_SUFFIXES)}).",
            kind="usage",
            hint="Pass a .safetensors voice state or a .wav prompt.",
        )
    return path


def check_voice_state(model: TTSModel, path: Path) -> None:
    """A voice-state file must hold one cache and offset per FlowLM layer, shaped for this model."""
    from safetensors import safe_open

    transformer = model.flow_lm.transformer
    heads = _cache_heads(transformer.layers[0].self_attn)
    per_head = transformer.layers[0].self_attn.dim_per_head
    layers = range(len(transformer.layers))
    try:
        with safe_open(str(path), framework="pt") as handle:
            shapes: dict[str, Any] = {key: handle.get_slice(key).get_shape() for key in handle.keys()}
    except Exception as error:  # noqa: BLE001 - any unreadable file is the same problem for the user
        raise JobError("VOICE_STATE_INVALID", f"{path} is not a readable safetensors file: {error}", kind="usage") from error
    problem = None
    for i in layers:
        prefix = f"transformer.layers.{i}.self_attn/"
        if prefix + "cache" not in shapes:
            problem = f"it has no {prefix}cache"
            break
        if prefix + "offset" not in shapes and prefix + "current_end" not in shapes:
            problem = f"it has no {prefix}offset"
            break
    known = {f"transformer.layers.{i}.self_attn/{key}" for i in layers for key in ("cache", "offset", "current_end", *_extra_state_keys())}
    extra = sorted(set(shapes) - known)
    if problem is None and extra:
        problem = f"it has {extra[0]}, which a {len(layers)}-layer model does not"
    if problem is not None:
        raise JobError(
            "VOICE_STATE_MISMATCH",
            f"{path} is not a voice state of this model: {problem}.",
            kind="usage",
            hint="Export the voice with this model (pockettts export-voice), or pass a prompt .wav instead.",
        )
    for key, shape in shapes.items():
        if key.endswith("/cache") and (len(shape) != 5 or shape[0] != 2 or shape[3] != heads or shape[4] != per_head):
            raise JobError(
                "VOICE_STATE_MISMATCH",
                f"{path}: {key} has shape {list(shape)}; this model needs [2, 1, positions, {heads}, {per_head}].",
                kind="usage",
                hint="Export the voice with this model (pockettts export-voice).",
            )


def _cache_heads(attention: Any) -> int:
    """Heads of a KV cache: 4.x caches keys and values per KV head (grouped-query attention)."""
    return int(getattr(attention, "num_kv_heads", attention.num_heads))


def _extra_state_keys() -> tuple[str, ...]:
    """State keys a release adds beside cache and offset (4.x: ``pad``, leading padding positions per row)."""
    from .upstreams import is_v4

    return ("pad",) if is_v4() else ()


def check_prompt(prompt: Path) -> Path:
    path = prompt.absolute()
    if not path.is_file():
        raise JobError(
            "PROMPT_NOT_FOUND",
            f"The voice prompt {path} does not exist.",
            kind="usage",
            hint="Pass an existing audio file (a .wav) as the prompt.",
        )
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        raise JobError(
            "PROMPT_FORMAT_UNSUPPORTED",
            f"The voice prompt {path} is not audio ({', '.join(AUDIO_SUFFIXES)}).",
            kind="usage",
            hint="Pass a .wav prompt (24 kHz mono 16-bit is best; other rates are resampled).",
        )
    if path.suffix.lower() == ".wav":
        _check_wav(path)
    return path


def _check_wav(path: Path) -> None:
    """Upstream reads WAV bytes as 16-bit PCM whatever the header says; refuse what it would misread."""
    try:
        with wave.open(str(path), "rb") as handle:
            width, frames = handle.getsampwidth(), handle.getnframes()
    except (wave.Error, EOFError) as error:
        raise JobError(
            "PROMPT_INVALID", f"{path} is not a readable WAV file ({error}).", kind="usage", hint="Pass a 16-bit PCM .wav file."
        ) from error
    if width != 2:
        raise JobError(
            "PROMPT_FORMAT_UNSUPPORTED",
            f"{path} holds {8 * width}-bit samples; upstream reads WAV samples as 16-bit and would misread it.",
            kind="usage",
            hint="Convert it to 16-bit PCM first (e.g. `ffmpeg -i in.wav -c:a pcm_s16le out.wav`).",
        )
    if frames == 0:
        raise JobError("PROMPT_INVALID", f"{path} holds no audio.", kind="usage", hint="Pass a prompt of a few seconds of speech.")
