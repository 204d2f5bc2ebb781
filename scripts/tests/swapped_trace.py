"""Traces a module to ONNX bytes with some of its modules' forwards swapped, as the export does (the tests of
fused_attention.py and mimi_streaming.py), or none (the graph rewrites' tests)."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Sequence

import torch
from torch import nn

from pockettts_tools.fused_attention import OPSET_IMPORTS, swapped_forwards


def trace_swapped(
    module: nn.Module,
    example: tuple[torch.Tensor, ...],
    swaps: Sequence[tuple[nn.Module, Callable[..., torch.Tensor]]],
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: dict[str, dict[int, str]] | None = None,
) -> bytes:
    """``torch.onnx.export`` of ``module`` on ``example`` (TorchScript exporter, opset 17, the contrib opsets when
    there are swaps) while ``swaps`` (what ``fused_forwards``/``mimi_forwards`` return) are in place."""
    buffer = io.BytesIO()
    with torch.no_grad(), swapped_forwards(swaps), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices
        torch.onnx.export(
            module,
            example,
            buffer,
            dynamo=False,
            opset_version=17,
            input_names=list(input_names),
            output_names=list(output_names),
            dynamic_axes=dynamic_axes or {},
            custom_opsets=OPSET_IMPORTS if swaps else None,
        )
    return buffer.getvalue()
