"""The one recorder of upstream's run: its graph-call detail agrees with upstream's own state and with the
golden records it keeps beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest


@pytest.fixture(scope="module")
def reference(oracle: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    import torch

    from pockettts_tools.model_facts import capacities, model_facts
    from pockettts_tools.model_folder import inspect_model_folder, load_model_folder
    from pockettts_tools.reference_run import record_reference, write_voice_prompt

    torch.set_grad_enabled(False)
    folder = inspect_model_folder(oracle / "tiny")
    tts = load_model_folder(folder)
    facts = model_facts(tts, folder.config)
    prompt = tmp_path_factory.mktemp("voice") / "voice.wav"
    write_voice_prompt(prompt, facts.sample_rate)
    return record_reference(tts, facts, prompt, capacities(tts, facts).max_chunk_tokens), facts


def test_flow_calls_cover_upstreams_cache_needs_oracle(reference: Any) -> None:
    ref, _ = reference
    kinds = [c.kind for c in ref.flow_calls]
    assert kinds[:2] == ["voice_prefill", "text_prefill"] and set(kinds[2:]) == {"ar_step"}
    assert len(ref.ar_steps) == ref.chunk.summary()["steps"]
    # each call starts where the previous calls' K/V rows end (record_reference also compares the final cache)
    written = 0
    for call in ref.flow_calls:
        assert call.offset == written
        written += call.new_kv.shape[0]
    assert ref.past_kv(len(ref.flow_calls)).shape[0] == written


def test_graph_calls_match_the_golden_records_needs_oracle(reference: Any) -> None:
    ref, _ = reference
    tensors = {name: array for name, (array, _) in ref.chunk.tensors().items()}
    steps = ref.ar_steps
    np.testing.assert_array_equal(np.stack([s.hidden.reshape(-1) for s in steps]), tensors["hidden"])
    np.testing.assert_array_equal(np.stack([s.latent.reshape(-1) for s in steps]), tensors["latent"])
    np.testing.assert_array_equal(np.stack([s.evals[0].x.reshape(-1) for s in steps]), tensors["noise"])
    np.testing.assert_array_equal(ref.text_embeddings.reshape(tensors["text_embeddings"].shape), tensors["text_embeddings"])
    generated = ref.generated_frames
    assert generated == len(ref.chunk.audio_frames)
    audio = np.concatenate([f.audio.reshape(-1) for f in ref.frames[:generated]])
    np.testing.assert_array_equal(audio, tensors["audio"])  # a second decode past the window repeats the first frames
    np.testing.assert_array_equal(audio, ref.audio)


def test_mimi_states_are_kept_for_chosen_frames_and_the_last_needs_oracle(reference: Any) -> None:
    from pockettts_tools.reference_run import kept_frames, min_decoded_frames

    ref, facts = reference
    assert len(ref.frames) >= min_decoded_frames(facts)
    with_state = {k for k, f in enumerate(ref.frames) if f.state_before is not None}
    assert with_state == (kept_frames(facts) | {len(ref.frames) - 1}) & set(range(len(ref.frames)))
    first, second = ref.frames[0], ref.frames[1]
    # the state after a frame is the state before the next one
    for name, value in first.state_after.items():
        np.testing.assert_array_equal(value, second.state_before[name.replace("next_state.", "state.", 1)])


def test_two_step_lsd_evaluations_are_recorded_needs_oracle(reference: Any) -> None:
    ref, _ = reference
    assert [float(e.s.reshape(-1)[0]) for e in ref.lsd2_evals] == [0.0, 0.5]
    np.testing.assert_array_equal(ref.lsd2_evals[0].x, ref.ar_steps[0].evals[0].x)


def test_upstreams_final_cache_is_the_recorded_new_kv_needs_oracle(oracle: Path, tmp_path: Path) -> None:
    import torch

    from pockettts_tools.model_facts import model_facts
    from pockettts_tools.model_folder import inspect_model_folder, load_model_folder
    from pockettts_tools.recording import GraphCallRecorder
    from pockettts_tools.reference_run import write_voice_prompt

    torch.set_grad_enabled(False)
    folder = inspect_model_folder(oracle / "tiny")
    tts = load_model_folder(folder)
    facts = model_facts(tts, folder.config)
    write_voice_prompt(tmp_path / "voice.wav", facts.sample_rate)
    recorder = GraphCallRecorder(
        tts, mimi_window=facts.mimi_context, steps_per_latent=facts.mimi_steps_per_latent, keep_frames=lambda k: k == 0
    )
    with recorder:
        state = tts.get_state_for_audio_prompt(tmp_path / "voice.wav")
        torch.manual_seed(7)
        tts.generate_audio(state, "Short one.")
    np.testing.assert_array_equal(recorder.recorded_cache(), np.concatenate([c.new_kv for c in recorder.flow_calls], axis=0))
    assert recorder.encoder_latent is not None and recorder.flow_calls[0].conditioning.shape[1] >= recorder.encoder_latent.shape[-1]
    # the golden records ride along unchanged: one chunk, its steps the AR calls
    assert len(recorder.chunks) == 1 and len(recorder.chunks[0].steps) == sum(c.kind == "ar_step" for c in recorder.flow_calls)
