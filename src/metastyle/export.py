"""ONNX export of a transformation network, and a check of the exported file against PyTorch.

The graph maps "image" (N x 3 x H x W, float32 in [0, 1]) to "stylized" (the same shape), with
batch, height and width dynamic. It is exact at every size because `TransformerNet.forward` pads
with shape arithmetic instead of a Python branch that tracing would freeze at the example's size.
Exporting needs `onnx` and `onnxscript` (torch's exporter); checking needs `onnxruntime`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from .errors import MetastyleError
from .files import atomic_path
from .transformer import TransformerNet

OPSET = 18  # what the exporter emits natively; onnxruntime has run it since 1.14
# The example that the export traces: batch 2 because torch.export fixes dimensions of size 1,
# and an odd size unlike any that callers check the file at.
TRACE_SHAPE = (2, 3, 37, 45)


def export_onnx(
    model: TransformerNet, path: str | os.PathLike, opset: int = OPSET, info: dict[str, Any] | None = None
) -> Path:
    """Write `model` as one self-contained ONNX file, atomically; returns the path.

    `info` (a model file's metadata, see `models.read_info`) goes into the ONNX metadata as JSON
    under the key "metastyle", so that the exported file still says what made it.
    """
    path = Path(path)
    example = torch.rand(TRACE_SHAPE, device=next(model.parameters()).device)
    size = {axis: torch.export.Dim.DYNAMIC for axis in (0, 2, 3)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            with _quiet_exporter():
                program = torch.onnx.export(
                    model, (example,), dynamo=True, opset_version=opset, input_names=["image"],
                    output_names=["stylized"], dynamic_shapes={"image": size}, verbose=False,
                )
            if info is not None:
                program.model.metadata_props["metastyle"] = json.dumps(info, sort_keys=True)
            program.save(tmp, external_data=False)
    except ImportError as error:
        raise MetastyleError(f"ONNX export needs onnx and onnxscript ({error}): pip install onnx onnxscript") from None
    except torch.onnx.errors.OnnxExporterError as error:
        raise MetastyleError(f"ONNX export failed: {_first_line(error)}") from None
    except OSError as error:
        raise MetastyleError(f"{path}: cannot write the ONNX file ({error.strerror or error})") from None
    return path


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """torch's exporter warns about every torchvision operator it cannot register (we use none)
    and about its own deprecated internals: noise on a user's terminal, not news about the model."""
    logger = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        logger.setLevel(level)


def check_onnx(
    model: TransformerNet, path: str | os.PathLike, sizes: Sequence[tuple[int, int]] = ((256, 256), (301, 257)), seed: int = 0
) -> float:
    """The largest absolute difference between onnxruntime running `path` and PyTorch running `model`.

    Both see the same seeded random 1 x 3 x H x W images, one for each (H, W) in `sizes`; choose
    sizes other than `TRACE_SHAPE` to prove the graph is not tied to the size it was traced at.
    """
    try:
        import onnxruntime
    except ImportError:
        raise MetastyleError("checking an ONNX file needs onnxruntime: pip install onnxruntime") from None
    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime's errors share no base class but Exception
        raise MetastyleError(f"{path}: onnxruntime cannot load it ({_first_line(error)})") from None
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    worst = 0.0
    for h, w in sizes:
        image = torch.rand(1, 3, h, w, generator=generator)
        (stylized,) = session.run(["stylized"], {"image": image.numpy()})
        with torch.inference_mode():
            expected = model(image.to(device)).cpu()
        worst = max(worst, (torch.from_numpy(stylized) - expected).abs().max().item())
    return worst


def _first_line(error: Exception) -> str:
    return next(iter(str(error).strip().splitlines()), type(error).__name__)
