"""The `score` metric: one fixed loss that compares any stylised image, ours or another tool's.

Definition (also in the README): content, style and stylised images are read with the same I/O
as everything else (RGB, [0, 1]); content and style are scaled so that their longer side is
`size` (default 512) and the stylised image is scaled to exactly the content's size. Then with
the default `LossConfig` (VGG-19, max pooling, Caffe input convention):
  content_loss = 1   * MSE(relu4_2(stylised), relu4_2(content))
  style_loss   = 1e3 * mean over relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 of
                 MSE(Gram(stylised), Gram(style)),  Gram = F Fᵀ / (C·H·W)
Lower is better for both; their sum is the quantity Gatys' method minimises.
"""

from __future__ import annotations

import os

import torch
from PIL import Image

from .images import open_image, pil_to_tensor, resize_longest
from .losses import LossConfig, PerceptualLoss
from .vgg import VGG19, check_side

SCORE_SIZE = 512


def score_tensors(
    content: torch.Tensor, style: torch.Tensor, stylized: torch.Tensor, vgg: VGG19 | None = None,
    loss: LossConfig = LossConfig(),
) -> dict[str, float]:
    """The `score` losses of `stylized`; `loss` weighs them otherwise (for objectives, not the metric)."""
    vgg = vgg if vgg is not None else VGG19().to(content.device)
    loss_fn = PerceptualLoss(vgg, style, loss)
    with torch.no_grad():
        terms = loss_fn(stylized, loss_fn.content_targets(content))
    return {"content_loss": float(terms.content), "style_loss": float(terms.style)}


def score(
    content: str | os.PathLike,
    style: str | os.PathLike,
    stylized: str | os.PathLike,
    size: int = SCORE_SIZE,
    device: str | torch.device = "cpu",
    vgg: VGG19 | None = None,
) -> dict[str, float]:
    """Content and style losses of the image file `stylized` against its content and style files."""
    return score_tensors(*[t.to(device) for t in score_inputs(content, style, stylized, size)], vgg=vgg)


def score_inputs(content: str | os.PathLike, style: str | os.PathLike, stylized: str | os.PathLike,
                 size: int = SCORE_SIZE) -> list[torch.Tensor]:
    """The three images as `score` measures them: at `size`, the stylised one at the photo's size;
    checked to be large enough for the VGG-19 losses."""
    content_image = resize_longest(open_image(content), size)
    style_image = resize_longest(open_image(style), size)
    stylized_image = open_image(stylized).resize(content_image.size, Image.Resampling.LANCZOS)
    tensors = [pil_to_tensor(i) for i in (content_image, style_image, stylized_image)]
    for tensor in tensors:
        check_side(tensor)
    return tensors
