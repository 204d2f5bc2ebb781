"""The export-time streaming substitution of mimi_decoder (mimi_streaming.py): which modules it takes over, and a
traced toy decoder with it (a depthwise upsampling transposed conv, two windowed attention layers, convolutions with
left context, transposed convs with overlap) run call after call on onnxruntime equals upstream's unmodified streaming
modules, past the attention window and from the zero initial state, with the small-node kinds gone."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from swapped_trace import trace_swapped
from torch import nn

from pockettts_tools.mimi_streaming import mimi_forwards

CHANNELS, HEADS, STRIDE, WINDOW = 8, 2, 2, 6


def _named(root: nn.Module) -> nn.Module:
    for name, module in root.named_modules():
        if hasattr(module, "init_state"):
            module._module_absolute_name = name
    return root


class _ToyMimi(nn.Module):
    """Upstream's streaming modules laid out as MimiModel names them (upsample., decoder_transformer., decoder.)."""

    def __init__(self, plain_only: bool) -> None:
        from pocket_tts.modules.conv import StreamingConv1d, StreamingConvTranspose1d
        from pocket_tts.modules.rope import RotaryEmbedding
        from pocket_tts.modules.transformer import StreamingMultiheadAttention

        super().__init__()
        self.upsample = nn.Module()
        self.upsample.convtr = StreamingConvTranspose1d(CHANNELS, CHANNELS, 2 * STRIDE, STRIDE, groups=CHANNELS, bias=False)
        rope = RotaryEmbedding(10_000.0)
        self.decoder_transformer = nn.ModuleList(
            [StreamingMultiheadAttention(embed_dim=CHANNELS, num_heads=HEADS, rope=rope, context=WINDOW) for _ in range(2)]
        )
        layers: list[nn.Module] = [
            StreamingConv1d(CHANNELS, CHANNELS, 3, dilation=2),  # left context 4
            StreamingConvTranspose1d(CHANNELS, 4, 6, 3),  # overlap 3 = stride, with bias
            StreamingConv1d(4, 4, 1),  # no context: upstream's forward
        ]
        if not plain_only:
            layers += [
                StreamingConvTranspose1d(4, 4, 6, 2),  # overlap 4 > stride: upstream's forward
                StreamingConv1d(4, 4, 3, pad_mode="replicate"),  # replicate padding: upstream's forward
            ]
        self.decoder = nn.ModuleList(layers)

    def attention_names(self) -> list[str]:
        return [f"decoder_transformer.{i}" for i in range(len(self.decoder_transformer))]

    def run(self, x: torch.Tensor, state: dict[str, dict[str, torch.Tensor]]) -> torch.Tensor:
        x = self.upsample.convtr(x, state)
        h = x.transpose(1, 2)
        for attention in self.decoder_transformer:
            h = h + attention(h, state)
        x = h.transpose(1, 2)
        for layer in self.decoder:
            x = layer(x, state)
        return x


class _Graph(nn.Module):
    """One call of the toy decoder with every state an input/output (as graph_defs.MimiDecoder feeds upstream)."""

    def __init__(self, toy: _ToyMimi, names: list[str]) -> None:
        super().__init__()
        self.toy, self.names = toy, names  # names: the conv states, (module, key), in input order

    def forward(
        self, x: torch.Tensor, offset: torch.Tensor, kv0: torch.Tensor, kv1: torch.Tensor, *conv: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        state: dict[str, dict[str, torch.Tensor]] = {
            name: {"kv": kv, "offset": offset} for name, kv in zip(self.toy.attention_names(), (kv0, kv1))
        }
        for (module, key), tensor in zip(self.names, conv):
            state.setdefault(module, self.toy.get_submodule(module).init_state(1, 0))[key] = tensor.clone()
        for name, module in self.toy.named_modules():
            if hasattr(module, "init_state") and name not in state:
                state[name] = module.init_state(1, 0)
        audio = self.toy.run(x, state)
        windows = [state[name]["next_kv"] for name in self.toy.attention_names()]
        return (audio, *windows, *[state[module][key] for module, key in self.names])


def _conv_states(toy: _ToyMimi) -> list[tuple[str, str]]:
    names = []
    for name, module in toy.named_modules():
        if name.startswith(("upsample.", "decoder.")) and hasattr(module, "init_state"):
            for key, tensor in module.init_state(1, 0).items():
                if tensor.numel() and (key != "first" or getattr(module, "pad_mode", "") == "replicate"):
                    names.append((name, key))
    return names


def _export(toy: _ToyMimi) -> tuple[bytes, list[tuple[str, str]]]:
    names = _conv_states(toy)
    graph = _Graph(toy, names)
    state = {n: m.init_state(1, 0) for n, m in toy.named_modules() if hasattr(m, "init_state") and n.startswith(("upsample.", "decoder."))}
    conv = [state[m][k] for m, k in names]
    kv = torch.zeros(2, WINDOW, HEADS, CHANNELS // HEADS)
    example = (torch.randn(1, CHANNELS, 2), torch.tensor([0]), kv, kv, *conv)
    conv_names = [f"state.{m}.{k}" for m, k in names]
    traced = trace_swapped(
        graph,
        example,
        mimi_forwards(toy, toy.attention_names(), WINDOW),
        ["x", "offset", "kv0", "kv1", *conv_names],
        ["audio", "next_kv0", "next_kv1", *[f"next_{n}" for n in conv_names]],
        {"x": {2: "frames"}, "audio": {2: "samples"}},
    )
    assert all("forward" not in m.__dict__ for m in toy.modules())  # upstream's forwards are back
    return traced, names


def test_substitutes_the_streaming_modules_it_proves_equal_and_leaves_the_others() -> None:
    toy = _named(_ToyMimi(plain_only=False))
    swapped = {name for name, module in toy.named_modules() for m, _ in mimi_forwards(toy, toy.attention_names(), WINDOW) if m is module}
    assert swapped == {"upsample.convtr", "decoder_transformer.0", "decoder_transformer.1", "decoder.0", "decoder.1"}


@pytest.mark.parametrize("plain_only", [True, False])
def test_traced_toy_decoder_equals_upstream_streaming_call_after_call(plain_only: bool) -> None:
    import onnx
    import onnxruntime as ort

    torch.manual_seed(0)
    toy = _named(_ToyMimi(plain_only)).eval()
    data, names = _export(toy)
    kinds = Counter(node.op_type for node in onnx.load_from_string(data).graph.node)
    assert kinds["RotaryEmbedding"] == 4 and kinds["MultiHeadAttention"] == 2 and "Softmax" not in kinds
    assert kinds["Cos"] == 1 and kinds["Sin"] == 1  # the RoPE table: once per call, shared by the layers
    if plain_only:
        assert kinds["Where"] == 1  # the bias: once per call, shared by the layers
        assert "ScatterND" not in kinds  # no in-place state writes left

    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    # upstream: its own modules and states, its linear KV cache (every position kept, the mask applies the context)
    upstream = {n: m.init_state(1, 200) for n, m in toy.named_modules() if hasattr(m, "init_state")}
    kv = np.zeros((2, WINDOW, HEADS, CHANNELS // HEADS), np.float32)
    feeds: dict[str, np.ndarray] = {"offset": np.array([0], np.int64), "kv0": kv, "kv1": kv}
    feeds |= {f"state.{m}.{k}": upstream[m][k].numpy().copy() for m, k in names}
    outputs = [o.name for o in session.get_outputs()]
    for frames in (1, 2, 1, 3, 4, 1):  # 2 attention steps a frame: past the window of 6 from the third call
        x = torch.randn(1, CHANNELS, frames)
        with torch.no_grad():
            expected = toy.run(x, upstream)
        for name in toy.attention_names():
            toy.get_submodule(name).increment_step(upstream[name], frames * STRIDE)
        got = dict(zip(outputs, session.run(None, {"x": x.numpy(), **feeds})))
        np.testing.assert_allclose(got["audio"], expected.numpy(), atol=1e-5, rtol=1e-4)
        for module, key in names:
            np.testing.assert_allclose(got[f"next_state.{module}.{key}"], upstream[module][key].numpy(), atol=1e-5, rtol=1e-4)
        feeds = {"offset": feeds["offset"] + frames * STRIDE, "kv0": got["next_kv0"], "kv1": got["next_kv1"]}
        feeds |= {f"state.{m}.{k}": got[f"next_state.{m}.{k}"] for m, k in names}
