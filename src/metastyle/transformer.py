"""Johnson et al.'s transformation network, as MetaStyle uses it (1.68 M parameters).

One deliberate difference from the reference: convolutions followed by InstanceNorm have no bias
(1,600 parameters that the norm cancels exactly), so 1,677,635 parameters instead of 1,679,235.

Reflection padding everywhere, affine InstanceNorm after every conv but the last, nearest-neighbour
upsampling followed by a conv (no checkerboard artefacts), and a sigmoid so that outputs are
images in [0, 1]. `forward` accepts any size: it pads by reflection to a multiple of 4 (the two
stride-2 convs), at least 8, and crops back. For the meta-learning inner loop the network runs with substituted
"fast weights" through `torch.func.functional_call`; `in_parameter_names` says which parameters
the inner loop adapts by default.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvLayer(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, upsample: bool = False, bias: bool = True):
        layers: list[nn.Module] = [nn.Upsample(scale_factor=2, mode="nearest")] if upsample else []
        layers += [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(c_in, c_out, kernel, stride, bias=bias)]
        super().__init__(*layers)


class ConvNormReLU(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, upsample: bool = False, relu: bool = True):
        # No conv bias before InstanceNorm: the norm subtracts it again, and Adam would turn its
        # round-off gradient into steps of full size.
        layers: list[nn.Module] = [ConvLayer(c_in, c_out, kernel, stride, upsample, bias=False), nn.InstanceNorm2d(c_out, affine=True)]
        super().__init__(*layers, *([nn.ReLU()] if relu else []))


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(ConvNormReLU(channels, channels, 3), ConvNormReLU(channels, channels, 3, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class TransformerNet(nn.Module):
    MULTIPLE = 4  # two stride-2 downsamplings
    MIN_SIDE = 8  # the 9x9 reflection pad needs more than 4 pixels; the 3x3 pads after /4 need 2

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            ConvNormReLU(3, 32, 9),
            ConvNormReLU(32, 64, 3, stride=2),
            ConvNormReLU(64, 128, 3, stride=2),
            *[ResidualBlock(128) for _ in range(5)],
            ConvNormReLU(128, 64, 3, upsample=True),
            ConvNormReLU(64, 32, 3, upsample=True),
            ConvLayer(32, 3, 9),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        pad_h = max(self.MIN_SIDE, h + -h % self.MULTIPLE) - h
        pad_w = max(self.MIN_SIDE, w + -w % self.MULTIPLE) - w
        if pad_h or pad_w:
            # Reflection needs the pad to be smaller than the side; replicate covers tiny images.
            mode = "reflect" if pad_h < h and pad_w < w else "replicate"
            image = F.pad(image, (0, pad_w, 0, pad_h), mode=mode)
        return torch.sigmoid(self.net(image))[..., :h, :w]


def in_parameter_names(model: nn.Module) -> list[str]:
    """Names of the InstanceNorm affine parameters (about 3.2 k of them): the inner loop's default."""
    return [
        f"{module_name}.{param_name}"
        for module_name, module in model.named_modules()
        if isinstance(module, nn.InstanceNorm2d)
        for param_name, _ in module.named_parameters(recurse=False)
    ]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
