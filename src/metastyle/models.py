"""Model files: a transformation network's weights as safetensors, with what made it in the metadata.

The metadata holds one JSON document under the key "metastyle" (style name and hash, steps,
image size, final losses, version, ...) beside a "format" tag, so that a file explains itself
(`safetensors` readers show it) and a wrong or damaged file is refused with a clear message.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from .errors import MetastyleError
from .files import atomic_path
from .predictor import PREFIX, StylePredictor
from .transformer import TransformerNet, width_of
from .version import __version__

FORMAT = "metastyle-transformer-v1"


def save_model(
    model: torch.nn.Module, path: str | os.PathLike, info: dict[str, Any], half: bool = False, predictor: StylePredictor | None = None
) -> Path:
    """Write the weights (fp16 when `half`), an initialisation's style predictor if any, and `info`
    atomically; returns the path."""
    path = Path(path)
    dtype = torch.float16 if half else torch.float32
    tensors = {**model.state_dict(), **({PREFIX + k: v for k, v in predictor.state_dict().items()} if predictor is not None else {})}
    state = {k: v.detach().to("cpu", dtype).contiguous() for k, v in tensors.items()}
    metadata = {"format": FORMAT, "metastyle": json.dumps({"version": __version__, **info}, sort_keys=True)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            save_file(state, tmp, metadata=metadata)
    except OSError as error:
        raise MetastyleError(f"{path}: cannot write the model ({error.strerror or error})") from None
    return path


def read_info(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata of a model file, checked to be ours."""
    path = Path(path)
    if not path.is_file():
        raise MetastyleError(f"{path}: no such model file")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
    except Exception:
        raise MetastyleError(f"{path}: not a model file (corrupt, truncated or not safetensors)") from None
    if metadata.get("format") != FORMAT:
        raise MetastyleError(f"{path}: a safetensors file, but not a metastyle model ({FORMAT})")
    try:
        return json.loads(metadata["metastyle"])
    except (KeyError, json.JSONDecodeError):
        raise MetastyleError(f"{path}: the model's metadata is damaged") from None


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[TransformerNet, dict[str, Any]]:
    """A ready-to-run network (float32, eval mode) and its metadata."""
    info = read_info(path)
    try:
        state = load_file(str(path))
    except Exception:
        raise MetastyleError(f"{path}: the model file is corrupt or truncated") from None
    try:
        model = TransformerNet(width_of(state))
        model.load_state_dict({k: v.float() for k, v in state.items() if not k.startswith(PREFIX)})
    except (KeyError, IndexError, RuntimeError):
        raise MetastyleError(f"{path}: the weights do not fit the transformation network (damaged file?)") from None
    return model.to(device).eval(), info


def load_predictor(path: str | os.PathLike) -> StylePredictor | None:
    """The style predictor of an initialisation file, or None where it has none (adapted models)."""
    with safe_open(str(path), framework="pt") as f:
        state = {k[len(PREFIX):]: f.get_tensor(k).float() for k in f.keys() if k.startswith(PREFIX)}
    if not state:
        return None
    predictor = StylePredictor(outputs=state["head.bias"].numel(), hidden=state["encoder.0.bias"].numel(), bottleneck=state["head.weight"].shape[1])
    try:
        predictor.load_state_dict(state)
    except RuntimeError:
        raise MetastyleError(f"{path}: the style predictor's weights are damaged") from None
    return predictor.eval()
