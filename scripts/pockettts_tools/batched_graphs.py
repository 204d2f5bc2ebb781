"""Optional batched AR-step graphs for serving several streams with one FlowLM call (issue 19).

``flow_lm_step_batched``: one AR step for B streams at once. Each row has its own position (``offsets`` [B])
and its own past K/V, left-aligned and zero- (or anything-) padded to a common length P >= max(offsets);
positions at or past a row's offset are masked by upstream's own mask (``pos_k >= 0``). RoPE is upstream's
``apply_rope`` with the rows laid along its time axis, each given its own absolute position.
``flow_lm_flow_batched``: the flow head with a dynamic batch (upstream's module is already row-wise).

Both are checked at export against upstream's recorded AR steps (teacher-forced), rows taken from different
steps so that every row has a different past length. An export without them still serves, unbatched.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from .graph_checks import Case
from .graph_defs import FlowLmFlow, GraphDef, attention_modules, f32, i64
from .model_facts import ModelFacts
from .reference_run import Reference
from .tolerances import graph_tolerances

STEP_GRAPH = "flow_lm_step_batched"
FLOW_GRAPH = "flow_lm_flow_batched"


def kv_heads(facts: ModelFacts) -> int:
    """Heads of the cached K/V: ``num_kv_heads`` when the facts have it (grouped-query attention), else ``num_heads``."""
    value = getattr(facts, "num_kv_heads", None)
    return int(value) if value is not None else facts.num_heads


class RowPastKVBackend:
    """Per-row cache bookkeeping: ``past_k``/``past_v`` [B, P, H, Dh] left-aligned, row b valid below
    ``offsets[b]``; the new key of row b sits at position ``offsets[b]``. Padding gets position -1, which
    upstream's mask (``pos_k >= 0``) excludes."""

    requires_state = True

    def rope_offset(self, state: dict[str, torch.Tensor], batch_size: Any, device: Any) -> torch.Tensor:
        return state["offsets"]

    def append_and_get(self, k: torch.Tensor, v: torch.Tensor, state: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        keys = torch.cat([state["past_k"], k], dim=1)
        values = torch.cat([state["past_v"], v], dim=1)
        state["new_k"], state["new_v"] = k, v
        offsets = state["offsets"].view(-1, 1)
        past = torch.arange(state["past_k"].shape[1], device=k.device, dtype=torch.long).view(1, -1)
        pos_past = torch.where(past < offsets, past, torch.full_like(past, -1))
        pos_k = torch.cat([pos_past.expand(k.shape[0], -1), offsets], dim=1)
        return keys.permute(0, 2, 1, 3), values.permute(0, 2, 1, 3), pos_k, state["offsets"]


class RowRope(nn.Module):
    """Upstream's rotary embedding with one position per row (T = 1): the rows go along apply_rope's time
    axis (positions arange(B) + offset), so offset = offsets - arange(B) gives row b its own position."""

    def __init__(self, rope: nn.Module) -> None:
        super().__init__()
        self.rope = rope

    def forward(self, q: torch.Tensor, k: torch.Tensor, offset: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, _, h, d = q.shape
        hk = k.shape[2]
        shift = offset - torch.arange(b, device=q.device, dtype=torch.long)
        qo, ko = self.rope(q.reshape(1, b, h, d), k.reshape(1, b, hk, d), offset=shift)
        return qo.reshape(b, 1, h, d), ko.reshape(b, 1, hk, d)


@contextmanager
def row_ropes(modules: Sequence[nn.Module]) -> Iterator[None]:
    saved = [(m, m.rope) for m in modules]
    try:
        for m, rope in saved:
            m.rope = RowRope(rope)
        yield
    finally:
        for m, rope in saved:
            m.rope = rope


class FlowLmStepBatched(nn.Module):
    """One AR step (one latent per row, no conditioning) of upstream ``FlowLMModel`` for B rows."""

    def __init__(self, flow_lm: nn.Module, d_model: int) -> None:
        super().__init__()
        self.flow_lm = flow_lm
        self.d_model = d_model
        self.attention = attention_modules(flow_lm)

    def forward(self, latents: torch.Tensor, offsets: torch.Tensor, *past: torch.Tensor) -> tuple[torch.Tensor, ...]:
        flow_lm = self.flow_lm
        names = [n for n, _ in self.attention]
        state = {n: {"past_k": past[2 * i], "past_v": past[2 * i + 1], "offsets": offsets} for i, n in enumerate(names)}
        empty = latents.new_zeros(latents.shape[0], 0, self.d_model)
        with row_ropes([m for _, m in self.attention]):
            sequence = torch.where(torch.isnan(latents), flow_lm.bos_emb, latents)
            out = flow_lm.backbone(flow_lm.input_linear(sequence), empty, sequence, model_state=state)
        hidden = out.to(torch.float32)[:, -1]
        eos_logit = flow_lm.out_eos(hidden)
        new_kv = torch.stack([torch.stack([state[n]["new_k"][:, 0], state[n]["new_v"][:, 0]], dim=1) for n in names], dim=1)
        return hidden, eos_logit, new_kv


def build_batched_graphs(tts: nn.Module, facts: ModelFacts) -> list[GraphDef]:
    flow_lm = tts.flow_lm
    d, lat, layers, hd = facts.d_model, facts.latent_dim, facts.num_layers, facts.head_dim
    heads = kv_heads(facts)
    step = FlowLmStepBatched(flow_lm, d)
    return [
        GraphDef(
            name=STEP_GRAPH,
            description="One AR step for B streams (optional; serving): per-row positions and left-aligned past K/V "
            "padded to a common past_len, each row equal to flow_lm_main's AR step on that row alone.",
            module=step,
            inputs=[
                f32("latents", ("batch", 1, lat), "each row's previous latent (normalised), NaN = latent BOS"),
                i64("offsets", ("batch",), "each row's past positions: its new position; rows at >= offsets[b] are padding"),
                *[
                    f32(
                        f"past_{c}.{i}",
                        ("batch", "past_len", heads, hd),
                        f"layer {i}'s {'keys (after RoPE)' if c == 'k' else 'values'}, row b valid at 0..offsets[b]-1",
                    )
                    for i in range(layers)
                    for c in "kv"
                ],
            ],
            outputs=[
                f32("hidden", ("batch", d), "out_norm output per row: flow_lm_flow's condition"),
                f32("eos_logit", ("batch", 1), "raw EOS logit per row"),
                f32("new_kv", ("batch", layers, 2, heads, hd), "each row's new K/V, to write at its position offsets[b]"),
            ],
            example=(
                torch.randn(2, 1, lat),
                torch.tensor([3, 5]),
                *[torch.randn(2, 6, heads, hd) for _ in range(2 * layers)],
            ),
            tolerance=graph_tolerances("flow_lm_main"),
            backends=[(m, RowPastKVBackend()) for _, m in step.attention],
        ),
        GraphDef(
            name=FLOW_GRAPH,
            description="flow_lm_flow with a batch of rows (optional; serving): one flow-head evaluation per row.",
            module=FlowLmFlow(flow_lm),
            inputs=[
                f32("hidden", ("batch", d), "flow_lm_step_batched hidden"),
                f32("s", ("batch", 1), "start time i/K"),
                f32("t", ("batch", 1), "target time (i+1)/K"),
                f32("x", ("batch", lat), "current point"),
            ],
            outputs=[f32("flow_dir", ("batch", lat), "flow direction per row")],
            example=(torch.randn(2, d), torch.zeros(2, 1), torch.ones(2, 1), torch.randn(2, lat)),
            tolerance=graph_tolerances("flow_lm_flow"),
        ),
    ]


def _rows(count: int, total: int) -> list[int]:
    """``count`` spread indices out of ``total`` (different past lengths per row), at least one."""
    if total <= 0:
        return []
    return sorted({round(i * (total - 1) / max(1, count - 1)) for i in range(count)})


def batched_cases(graph: str, ref: Reference) -> list[Case]:
    """Recorded upstream AR steps (and flow-head evaluations) stacked as rows of one batched call; the pad
    rows of each past are filled with noise, which the mask must make irrelevant."""
    rng = np.random.default_rng(19)
    if graph == FLOW_GRAPH:
        evals = [e for c in ref.ar_steps for e in c.evals]
        picks = [evals[i] for i in _rows(3, len(evals))]
        inputs = {k: np.concatenate([getattr(e, k) for e in picks], axis=0) for k in ("hidden", "s", "t", "x")}
        return [Case("evals_stacked", inputs, {"flow_dir": np.concatenate([e.flow_dir for e in picks], axis=0)})]
    steps = [i for i, c in enumerate(ref.flow_calls) if c.kind == "ar_step"]
    cases: list[Case] = []
    for size in (1, 3):
        picks = [steps[i] for i in _rows(size, len(steps))]
        pasts = [ref.past_kv(i) for i in picks]
        width = max(p.shape[0] for p in pasts) + 2  # longer than any row: padding on every row
        padded = rng.standard_normal((len(picks), width, *pasts[0].shape[1:])).astype(np.float32)
        for row, p in enumerate(pasts):
            padded[row, : p.shape[0]] = p
        calls = [ref.flow_calls[i] for i in picks]
        inputs = {
            "latents": np.concatenate([c.latents for c in calls], axis=0),
            "offsets": np.array([c.offset for c in calls], dtype=np.int64),
            **{f"past_{c}.{i}": np.ascontiguousarray(padded[:, :, i, j]) for i in range(padded.shape[2]) for j, c in enumerate("kv")},
        }
        expected = {
            "hidden": np.concatenate([c.hidden for c in calls], axis=0),  # type: ignore[misc]
            "eos_logit": np.concatenate([c.eos_logit for c in calls], axis=0),  # type: ignore[misc]
            "new_kv": np.concatenate([c.new_kv for c in calls], axis=0),  # type: ignore[misc]
        }
        cases.append(Case(f"ar_steps_{size}_rows", inputs, expected))
    return cases
