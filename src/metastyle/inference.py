"""Running a style network on a photo: one forward pass, the output the input's size."""

from __future__ import annotations

import torch

from .transformer import TransformerNet


@torch.inference_mode()
def stylize_tensor(model: TransformerNet, image: torch.Tensor) -> torch.Tensor:
    """One forward pass; the output has the input's size."""
    return model(image)
