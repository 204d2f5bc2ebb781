"""The packed batched FlowLM call (batched_graphs.py): rows of different lengths, pasts and offsets in one call give
each row what flow_lm_main gives that row alone, in torch (the export checks the ONNX graph against upstream)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import PROJECT

from pockettts_tools.batched_graphs import FlowLmStepBatched, packed_layout
from pockettts_tools.graph_defs import FlowLmMain, PastKVBackend, attention_modules, swapped_backends
from pockettts_tools.model_facts import model_facts
from pockettts_tools.model_folder import inspect_model_folder, load_model_folder


def test_packed_layout_maps_each_token_to_its_slot_and_back() -> None:
    token_slot, slot_token = packed_layout([3, 1, 2])
    assert slot_token.shape == (3, 3)
    assert token_slot.tolist() == [0, 1, 2, 3, 6, 7]
    assert [int(slot_token.reshape(-1)[s]) for s in token_slot] == list(range(6))
    assert slot_token.tolist() == [[0, 1, 2], [3, 6, 6], [4, 5, 6]]  # 6 = n_tokens: an empty slot


@pytest.fixture(scope="module")
def tiny() -> tuple[torch.nn.Module, int, int, int, int]:
    torch.set_grad_enabled(False)
    folder = inspect_model_folder(PROJECT / "fixtures" / "tiny")
    tts = load_model_folder(folder)
    facts = model_facts(tts, folder.config)
    return tts.flow_lm, facts.d_model, facts.latent_dim, facts.num_kv_heads, facts.head_dim


def test_rows_of_a_packed_call_equal_their_solo_calls(tiny: tuple[torch.nn.Module, int, int, int, int]) -> None:
    flow_lm, d, lat, heads, hd = tiny
    layers = len(attention_modules(flow_lm))
    gen = torch.Generator().manual_seed(19)
    # (past positions, conditioning positions, latent: None = none, NaN = BOS, else a latent)
    rows = [(5, 3, float("nan")), (7, 0, 0.3), (0, 4, None)]
    width = max(p for p, _, _ in rows) + 2  # every past padded, with noise the mask must hide
    pasts = torch.randn(len(rows), width, layers, 2, heads, hd, generator=gen)
    solo = FlowLmMain(flow_lm)
    expected = []
    conds, latents = [], []
    for b, (past, n_cond, latent) in enumerate(rows):
        cond = torch.randn(1, n_cond, d, generator=gen)
        lat_in = torch.zeros(1, 0, lat) if latent is None else torch.full((1, 1, lat), latent)
        feeds = [pasts[b : b + 1, :past, i, c] for i in range(layers) for c in range(2)]
        with swapped_backends([(m, PastKVBackend()) for _, m in attention_modules(flow_lm)]):
            hidden, eos, new_kv, _, _ = solo(cond, lat_in, torch.tensor([past]), *feeds)
        expected.append((hidden, eos, new_kv))
        conds.append(torch.cat([cond[0], torch.zeros(lat_in.shape[1], d)]))
        latents.append(torch.cat([torch.zeros(n_cond, lat), lat_in[0]]))
    lengths = [n + (0 if latent is None else 1) for _, n, latent in rows]
    token_slot, slot_token = packed_layout(lengths)
    is_latent = torch.tensor([v for _, n, latent in rows for v in [0] * n + ([] if latent is None else [1])])
    hidden, eos, new_kv = FlowLmStepBatched(flow_lm, d)(
        torch.cat(conds),
        torch.cat(latents),
        is_latent,
        torch.tensor([p for p, _, _ in rows]),
        torch.tensor(lengths),
        torch.from_numpy(token_slot),
        torch.from_numpy(slot_token),
        *[pasts[:, :, i, c] for i in range(layers) for c in range(2)],
    )
    starts = np.cumsum([0, *lengths])
    for b, (want_hidden, want_eos, want_kv) in enumerate(expected):
        torch.testing.assert_close(hidden[b : b + 1], want_hidden, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(eos[b : b + 1], want_eos, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(new_kv[starts[b] : starts[b + 1]], want_kv, atol=1e-5, rtol=1e-5)
