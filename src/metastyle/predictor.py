"""A style-conditioned start: the painting's VGG statistics predict the network's InstanceNorm parameters.

One initialisation cannot be close to every painting: 25 Adam steps at lr 1e-3 move each weight by
at most 0.025, and the shipped single initialisation needed 100 steps to match a random start's
result. Ghiasi et al. (2017) and Shen et al. (2018) predict style-specific weights from the painting
in one pass instead; Dumoulin et al. (2017) showed that the InstanceNorm scales and shifts alone
(3,200 numbers here) can carry a style when the rest of the network is shared. Here the per-channel
means and standard deviations of the painting's VGG-19 features go through a small MLP with a
100-dimensional bottleneck (Ghiasi et al.'s size) to offsets of the InstanceNorm parameters; the
adaptation steps then refine that start. Meta-training learns the predictor with the shared body.

The head starts at zero, so a fresh predictor leaves its network's own start unchanged.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from .losses import GATYS_STYLE_LAYERS
from .transformer import TransformerNet, in_parameter_names
from .vgg import VGG19

STAT_LAYERS = GATYS_STYLE_LAYERS
STAT_CHANNELS = (64, 128, 256, 512, 512)  # relu1_1 ... relu5_1
STAT_SIZE = 2 * sum(STAT_CHANNELS)  # a mean and a standard deviation per channel
PREFIX = "predictor."  # its tensors' names in a model file, beside the network's
# The painting is seen as 256 px squares: in training one random crop of 67-100% of its shorter
# side (data.ImageSampler), at test time views of 67% that together cover all of it (two of a
# square painting's sides, more of a longer one), whose predictions are averaged. The whole painting
# is what its style loss sees. Measured on the stage-6 small start, 12 held-out paintings x 2 test
# photos, the start's own style loss (no step): one centre view of 80% 5.08e7, the whole painting as
# one view 4.37e7, 3x3 views of 80% 4.27e7, 2x2 views of 67% 3.98e7.
VIEW_SIZE = 256
VIEW_FRACTION = 0.67
PAINTING_SIZE = 512  # the longer side to load a painting at for `painting_statistics`: views then match training's


def style_statistics(vgg: VGG19, painting: torch.Tensor) -> torch.Tensor:
    """Bx2944: log(1 + mean) and log(1 + std) of every channel of relu1_1..relu5_1.

    The logarithm tames the Caffe-scale features (0 to several hundred), whose spread differs by
    orders of magnitude between layers and paintings.
    """
    with torch.no_grad(), torch.autocast(painting.device.type, enabled=False):
        features = vgg(painting.float(), STAT_LAYERS)
        parts = []
        for layer in STAT_LAYERS:
            flat = features[layer].flatten(2)
            parts += [flat.mean(-1), flat.std(-1)]
        return torch.log1p(torch.cat(parts, dim=1))


def blend_statistics(first: torch.Tensor, second: torch.Tensor, weight: float) -> torch.Tensor:
    """The statistics (`style_statistics`) of a collage with a share `weight` of `first`'s image and
    the rest `second`'s: channel means blend linearly, and so do mean squares (variance + mean²)."""
    parts, offset = [], 0
    for channels in STAT_CHANNELS:
        (m1, s1), (m2, s2) = [torch.expm1(x[:, offset : offset + 2 * channels]).split(channels, dim=1) for x in (first, second)]
        mean = weight * m1 + (1 - weight) * m2
        square = weight * (s1**2 + m1**2) + (1 - weight) * (s2**2 + m2**2)
        parts += [mean, (square - mean**2).clamp(min=0).sqrt()]
        offset += 2 * channels
    return torch.log1p(torch.cat(parts, dim=1))


def painting_views(painting: torch.Tensor) -> torch.Tensor:
    """Kx3xVIEW_SIZExVIEW_SIZE: squares of VIEW_FRACTION of the shorter side, evenly spread over the
    painting (1x3xHxW), as many along each side as it takes to cover it."""
    h, w = painting.shape[-2:]
    side = round(VIEW_FRACTION * min(h, w))
    places = [torch.linspace(0, length - side, math.ceil(length / side)).round().int().tolist() for length in (h, w)]
    crops = [painting[..., top : top + side, left : left + side] for top in places[0] for left in places[1]]
    return F.interpolate(torch.cat(crops), size=(VIEW_SIZE, VIEW_SIZE), mode="bilinear", antialias=True, align_corners=False)


def painting_statistics(vgg: VGG19, painting: torch.Tensor) -> torch.Tensor:
    """Kx2944: the statistics of a whole painting (1x3xHxW, loaded at PAINTING_SIZE), one row per view (`painting_views`)."""
    return style_statistics(vgg, painting_views(painting))


def _without_gain(module: nn.Module, state: dict[str, torch.Tensor], prefix: str, *_: object) -> None:
    """Model files and checkpoints written before the gain existed have none: a gain of 1."""
    state.setdefault(prefix + "gain", torch.ones(()))


class StylePredictor(nn.Module):
    """Painting statistics -> offsets of the InstanceNorm parameters of a `TransformerNet`
    (`outputs`: their number, `in_parameter_count(network)`)."""

    def __init__(self, outputs: int = 2 * 1600, hidden: int = 256, bottleneck: int = 100):
        super().__init__()
        # Each statistic standardised over the training paintings (`calibrate`): raw, they range
        # from 0 to 6 with a spread between paintings that differs 100-fold between channels, and
        # Adam then moved the predicted offsets by several units in one step (a test run diverged).
        self.register_buffer("center", torch.zeros(STAT_SIZE))
        self.register_buffer("spread", torch.ones(STAT_SIZE))
        # The offsets' multiplier for a painting's start (`start_for`), where the predictions of its
        # covering views are averaged: a predictor trained on one view at a time shrinks towards the
        # mean where a view leaves the painting uncertain, and several views remove some of that
        # doubt. Chosen after training on training paintings (benchmarks/view_gain.py: 1.1 for the
        # stage-6 small model, whose held-out start it made 9% better, median pair by pair, and its
        # 25-step result 0.5%; benchmarks/RESULTS.md). Training itself uses none (`conditioned_parameters`).
        self.register_buffer("gain", torch.ones(()))
        self.register_load_state_dict_pre_hook(_without_gain)
        self.encoder = nn.Sequential(nn.Linear(STAT_SIZE, hidden), nn.ReLU(), nn.Linear(hidden, bottleneck))
        self.head = nn.Linear(bottleneck, outputs)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, statistics: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder((statistics - self.center) / self.spread))

    @torch.no_grad()
    def calibrate(self, statistics: torch.Tensor) -> None:
        """Standardise inputs with the mean and spread of these paintings' statistics (Nx2944)."""
        self.center.copy_(statistics.mean(0))
        self.spread.copy_(statistics.std(0).clamp(min=1e-2))


def conditioned_parameters(model: TransformerNet, predictor: StylePredictor, statistics: torch.Tensor,
                           gain: float | torch.Tensor = 1.0) -> dict[str, torch.Tensor]:
    """The network's parameters for one painting (statistics Kx2944, K views of it): its InstanceNorm
    ones offset by `gain` times the mean of the views' predictions.

    Differentiable with respect to the body and the predictor, for `torch.func.functional_call`.
    """
    params = dict(model.named_parameters())
    offsets = gain * predictor(statistics).mean(0)
    start = 0
    for name in in_parameter_names(model):
        n = params[name].numel()
        params[name] = params[name] + offsets[start : start + n].view_as(params[name])
        start += n
    return params


@torch.no_grad()
def conditioned_network(model: TransformerNet, predictor: StylePredictor, statistics: torch.Tensor,
                        gain: float | torch.Tensor = 1.0) -> TransformerNet:
    """A copy of `model` whose InstanceNorm parameters are predicted from `statistics` (Kx2944).
    A deep copy, not a new network: building one would draw from the global RNG."""
    params = conditioned_parameters(model.to(statistics.device), predictor.to(statistics.device), statistics, gain)
    start = copy.deepcopy(model)
    start.load_state_dict({**start.state_dict(), **params})
    return start


def start_for(model: TransformerNet, predictor: StylePredictor, vgg: VGG19, painting: torch.Tensor) -> TransformerNet:
    """A copy of `model` whose InstanceNorm parameters are predicted for `painting` (loaded at PAINTING_SIZE)."""
    return conditioned_network(model, predictor, painting_statistics(vgg, painting), predictor.gain)
