"""Optional serving graphs: several streams' FlowLM calls in one call (issue 19).

``flow_lm_step_batched``: one FlowLM call for B rows, each row any number of new positions (a voice prefill, a
text prefill with the first AR step, or one AR step), so that a stream joining a running batch has its prefill
done as a row of the batch's next call, and a batching server needs no other FlowLM graph (one weight copy).
The new positions of all rows are *packed* along one token axis (N = sum of the rows' lengths): the linear layers
run once over the N tokens, as a solo call over N positions would. Only the attention is per row: each layer
scatters its packed queries/keys/values into a [B, W] slot grid (W = the longest row; ``slot_token`` names each
slot's token, N = an empty slot), attends over the row's own past K/V (left-aligned, padded to a common past_len,
row b valid below ``offsets[b]``) plus the row's new keys (causal), and gathers the slots back to tokens
(``token_slot``). RoPE is upstream's with each token at its own position (offsets[row] + index in the row).
``flow_lm_flow_batched``: the flow head with a dynamic batch (upstream's module is already row-wise).

Both are checked at export against upstream's recorded FlowLM calls (teacher-forced), several calls as the
rows of one call. An export without them still serves, unbatched.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

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


class PackedRows:
    """The row layout of one packed call, shared by every layer's attention."""

    def __init__(self, offsets: torch.Tensor, row_lens: torch.Tensor, token_slot: torch.Tensor, slot_token: torch.Tensor) -> None:
        self.offsets = offsets
        self.row_lens = row_lens
        self.token_slot = token_slot
        self.slot_token = slot_token
        width = slot_token.shape[1]
        index = torch.arange(width, dtype=torch.long).view(1, -1)
        self.pos_q = offsets.view(-1, 1) + index  # [B, W] each slot's absolute position
        self.valid_new = index < row_lens.view(-1, 1)  # [B, W]
        self.token_pos = self.pos_q.reshape(-1)[token_slot]  # [N]

    def to_slots(self, x: torch.Tensor) -> torch.Tensor:
        """[N, ...] packed -> [B, W, ...] slots (empty slots zero)."""
        padded = torch.cat([x, x.new_zeros(1, *x.shape[1:])], dim=0)
        return padded[self.slot_token]

    def to_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """[B, W, ...] slots -> [N, ...] packed."""
        return x.reshape(-1, *x.shape[2:])[self.token_slot]


def packed_attention(module: nn.Module, rows: PackedRows, state: dict[str, torch.Tensor]) -> Any:
    """A forward for one of upstream's attention modules over packed tokens ([1, N, d]), with its own weights
    (in_proj, rope, out_proj) and per-row attention; the new K/V (after RoPE) are left in ``state``."""
    heads = int(module.num_heads)
    kv_heads_ = int(getattr(module, "num_kv_heads", heads))
    dh = int(module.dim_per_head)
    context = getattr(module, "context", None)

    def forward(query: torch.Tensor, model_state: Any = None, attn_mask: Any = None) -> torch.Tensor:
        n = query.shape[1]
        projected = module.in_proj(query)
        q = projected[..., : heads * dh].reshape(1, n, heads, dh)
        k, v = torch.unbind(projected[..., heads * dh :].reshape(1, n, 2, kv_heads_, dh), dim=2)
        shift = rows.token_pos - torch.arange(n, dtype=torch.long)
        q, k = module.rope(q, k, offset=shift)
        state["new_k"], state["new_v"] = k[0], v[0]
        past_k, past_v = state["past_k"], state["past_v"]
        keys = torch.cat([past_k, rows.to_slots(k[0])], dim=1).permute(0, 2, 1, 3)
        values = torch.cat([past_v, rows.to_slots(v[0])], dim=1).permute(0, 2, 1, 3)
        if kv_heads_ != heads:
            keys = keys.repeat_interleave(heads // kv_heads_, dim=1)
            values = values.repeat_interleave(heads // kv_heads_, dim=1)
        past = torch.arange(past_k.shape[1], dtype=torch.long).view(1, -1)
        pos_past = torch.where(past < rows.offsets.view(-1, 1), past, torch.full_like(past, -1))
        pos_new = torch.where(rows.valid_new, rows.pos_q, torch.full_like(rows.pos_q, -1))
        pos_k = torch.cat([pos_past.expand(rows.pos_q.shape[0], -1), pos_new], dim=1)  # [B, P + W]
        delta = rows.pos_q[:, :, None] - pos_k[:, None, :]
        mask = (pos_k[:, None, :] >= 0) & (delta >= 0)
        if context is not None:
            mask = mask & (delta < context)
        x = F.scaled_dot_product_attention(rows.to_slots(q[0]).transpose(1, 2), keys, values, mask[:, None], dropout_p=0.0)
        x = rows.to_tokens(x.transpose(1, 2)).reshape(1, n, heads * dh)
        return module.out_proj(x)

    return forward


@contextmanager
def packed_attentions(modules: Sequence[nn.Module], rows: PackedRows, states: Sequence[dict[str, torch.Tensor]]) -> Iterator[None]:
    """Each attention module runs packed_attention while the graph is traced (an instance attribute over the class's forward)."""
    try:
        for m, state in zip(modules, states, strict=True):
            m.forward = packed_attention(m, rows, state)
        yield
    finally:
        for m in modules:
            del m.forward


class FlowLmStepBatched(nn.Module):
    """Upstream ``FlowLMModel``'s backbone and EOS head for B rows of packed new positions."""

    def __init__(self, flow_lm: nn.Module, d_model: int) -> None:
        super().__init__()
        self.flow_lm = flow_lm
        self.d_model = d_model
        self.attention = attention_modules(flow_lm)

    def forward(
        self,
        conditioning: torch.Tensor,
        latents: torch.Tensor,
        is_latent: torch.Tensor,
        offsets: torch.Tensor,
        row_lens: torch.Tensor,
        token_slot: torch.Tensor,
        slot_token: torch.Tensor,
        *past: torch.Tensor,
    ) -> tuple[torch.Tensor, ...]:
        flow_lm = self.flow_lm
        rows = PackedRows(offsets, row_lens, token_slot, slot_token)
        states = [{"past_k": past[2 * i], "past_v": past[2 * i + 1]} for i in range(len(self.attention))]
        # as FlowLMModel.forward per token: NaN marks the latent BOS, latents go through input_linear, conditioning as is
        sequence = torch.where(torch.isnan(latents), flow_lm.bos_emb, latents)
        tokens = torch.where(is_latent.view(-1, 1) != 0, flow_lm.input_linear(sequence), conditioning)[None]
        empty = tokens.new_zeros(1, 0, self.d_model)
        with packed_attentions([m for _, m in self.attention], rows, states):
            out = flow_lm.backbone(tokens, empty, tokens, model_state={})
        last = rows.slot_token.gather(1, (row_lens - 1).view(-1, 1)).view(-1)  # each row's last token
        hidden = out.to(torch.float32)[0][last]
        eos_logit = flow_lm.out_eos(hidden)
        new_kv = torch.stack([torch.stack([s["new_k"], s["new_v"]], dim=1) for s in states], dim=1)
        return hidden, eos_logit, new_kv


def build_batched_graphs(tts: nn.Module, facts: ModelFacts) -> list[GraphDef]:
    flow_lm = tts.flow_lm
    d, lat, layers, hd = facts.d_model, facts.latent_dim, facts.num_layers, facts.head_dim
    heads = kv_heads(facts)
    step = FlowLmStepBatched(flow_lm, d)
    return [
        GraphDef(
            name=STEP_GRAPH,
            description="FlowLM calls of B streams in one call (optional; serving): each row's new positions (a prefill, a "
            "prefill with the first AR step, or one AR step) packed along one token axis, each row attending to its own "
            "left-aligned past K/V and to its own new positions; each row equal to flow_lm_main's call on that row alone.",
            module=step,
            inputs=[
                f32("conditioning", ("n_tokens", d), "packed new positions: the conditioning of each non-latent token (rows in order)"),
                f32("latents", ("n_tokens", lat), "packed: each latent token's normalised latent, NaN = latent BOS"),
                i64("is_latent", ("n_tokens",), "1 where the token is a latent (through input_linear), 0 for conditioning"),
                i64("offsets", ("batch",), "each row's past positions: the absolute position of its first new token"),
                i64("row_lens", ("batch",), "each row's new positions (>= 1); the row's tokens are consecutive in the packed axis"),
                i64("token_slot", ("n_tokens",), "each token's slot in the [batch, width] grid: row * width + index in its row"),
                i64("slot_token", ("batch", "width"), "each slot's token (n_tokens for an empty slot); width = the longest row"),
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
                f32("hidden", ("batch", d), "out_norm output at each row's last new position: flow_lm_flow's condition"),
                f32("eos_logit", ("batch", 1), "raw EOS logit at each row's last new position"),
                f32("new_kv", ("n_tokens", layers, 2, heads, hd), "the new K/V of each packed token, to write at its row's next position"),
            ],
            example=packed_example(d, lat, heads, hd, layers),
            tolerance=graph_tolerances("flow_lm_main"),
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
    prefills = [i for i, c in enumerate(ref.flow_calls) if c.kind != "ar_step"]
    # one prefill alone (the voice prefill on an empty cache), one AR step alone, then prefills and AR steps as rows of one call
    mixes = [prefills[:1], steps[:1], [*prefills[1:2], *[steps[i] for i in _rows(2, len(steps))], *prefills[:1]]]
    cases: list[Case] = []
    for number, picks in enumerate(mixes):
        if picks:
            cases.append(_packed_case(f"rows_{number}_{len(picks)}", ref, picks, rng))
    return cases


def packed_layout(lengths: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """token_slot [N] and slot_token [B, W] for rows of these lengths (tokens packed row after row)."""
    width = max(lengths)
    total = sum(lengths)
    token_slot = np.zeros(total, dtype=np.int64)
    slot_token = np.full((len(lengths), width), total, dtype=np.int64)
    token = 0
    for row, length in enumerate(lengths):
        for j in range(length):
            token_slot[token] = row * width + j
            slot_token[row, j] = token
            token += 1
    return token_slot, slot_token


def packed_example(d: int, lat: int, heads: int, hd: int, layers: int) -> tuple[torch.Tensor, ...]:
    lengths = [3, 1]
    token_slot, slot_token = packed_layout(lengths)
    n = sum(lengths)
    return (
        torch.randn(n, d),
        torch.randn(n, lat),
        torch.tensor([0, 0, 1, 1]),
        torch.tensor([4, 6]),
        torch.tensor(lengths),
        torch.from_numpy(token_slot),
        torch.from_numpy(slot_token),
        *[torch.randn(2, 7, heads, hd) for _ in range(2 * layers)],
    )


def _packed_case(name: str, ref: Reference, picks: Sequence[int], rng: np.random.Generator) -> Case:
    """Recorded upstream FlowLM calls as the rows of one packed call; each past padded with noise beyond its row's
    offset, which the mask must make irrelevant."""
    calls = [ref.flow_calls[i] for i in picks]
    pasts = [ref.past_kv(i) for i in picks]
    width = max(p.shape[0] for p in pasts) + 2
    padded = rng.standard_normal((len(picks), width, *pasts[0].shape[1:])).astype(np.float32)
    for row, past in enumerate(pasts):
        padded[row, : past.shape[0]] = past
    d = calls[0].conditioning.shape[2]
    lat_dim = calls[0].latents.shape[2] if calls[0].latents.shape[1] > 0 else ref.ar_steps[0].latents.shape[2]
    conditioning, latents, is_latent = [], [], []
    for c in calls:
        n_cond, n_lat = c.conditioning.shape[1], c.latents.shape[1]
        conditioning += [c.conditioning[0], np.zeros((n_lat, d), np.float32)]
        latents += [np.zeros((n_cond, lat_dim), np.float32), c.latents[0].reshape(n_lat, lat_dim)]
        is_latent += [0] * n_cond + [1] * n_lat
    lengths = [c.conditioning.shape[1] + c.latents.shape[1] for c in calls]
    token_slot, slot_token = packed_layout(lengths)
    inputs = {
        "conditioning": np.concatenate(conditioning, axis=0),
        "latents": np.concatenate(latents, axis=0),
        "is_latent": np.array(is_latent, dtype=np.int64),
        "offsets": np.array([c.offset for c in calls], dtype=np.int64),
        "row_lens": np.array(lengths, dtype=np.int64),
        "token_slot": token_slot,
        "slot_token": slot_token,
        **{f"past_{c}.{i}": np.ascontiguousarray(padded[:, :, i, j]) for i in range(padded.shape[2]) for j, c in enumerate("kv")},
    }
    expected = {
        "hidden": np.concatenate([c.hidden for c in calls], axis=0),  # type: ignore[misc]
        "eos_logit": np.concatenate([c.eos_logit for c in calls], axis=0),  # type: ignore[misc]
        "new_kv": np.concatenate([c.new_kv for c in calls], axis=0),  # type: ignore[misc]
    }
    return Case(name, inputs, expected)
