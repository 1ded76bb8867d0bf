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


WIDTH = 32  # Johnson et al.'s first layer


class TransformerNet(nn.Module):
    MULTIPLE = 4  # two stride-2 downsamplings
    MIN_SIDE = 8  # the 9x9 reflection pad needs more than 4 pixels; the 3x3 pads after /4 need 2

    def __init__(self, width: int = WIDTH) -> None:
        """`width`: the first layer's channels (32 in Johnson's network); the others scale with it,
        so half the width is a quarter of the arithmetic (the small shipped model, `start.SMALL_MODEL`)."""
        super().__init__()
        self.width = width
        c = width
        self.net = nn.Sequential(
            ConvNormReLU(3, c, 9),
            ConvNormReLU(c, 2 * c, 3, stride=2),
            ConvNormReLU(2 * c, 4 * c, 3, stride=2),
            *[ResidualBlock(4 * c) for _ in range(5)],
            ConvNormReLU(4 * c, 2 * c, 3, upsample=True),
            ConvNormReLU(2 * c, c, 3, upsample=True),
            ConvLayer(c, 3, 9),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Pad at the bottom and right to a multiple of 4 (at least 8), run the network, crop back.

        The pad is a gather whose indices come from shape arithmetic, with no Python branch on the
        size, so that an exported graph (ONNX) pads correctly at every size, not only the traced one.
        """
        h, w = image.shape[-2:]
        rows, cols = (torch.arange(torch.sym_max(self.MIN_SIDE, n + -n % self.MULTIPLE), device=image.device) for n in (h, w))
        reflected_rows = torch.where(rows < h, rows, 2 * h - 2 - rows)
        reflected_cols = torch.where(cols < w, cols, 2 * w - 2 - cols)
        # Reflection needs the pad to be smaller than the side (else an index goes negative);
        # replication covers tiny images.
        reflect = (reflected_rows.min() >= 0) & (reflected_cols.min() >= 0)
        rows = torch.where(reflect, reflected_rows, rows.clamp(max=h - 1))
        cols = torch.where(reflect, reflected_cols, cols.clamp(max=w - 1))
        padded = image.index_select(-2, rows).index_select(-1, cols)
        # The sigmoid in float32: under bf16 autocast its output would come in steps of up to 2/255.
        return torch.sigmoid(self.net(padded).float())[..., :h, :w]


def in_parameter_names(model: nn.Module) -> list[str]:
    """Names of the InstanceNorm affine parameters (about 3.2 k of them): the inner loop's default."""
    return [
        f"{module_name}.{param_name}"
        for module_name, module in model.named_modules()
        if isinstance(module, nn.InstanceNorm2d)
        for param_name, _ in module.named_parameters(recurse=False)
    ]


def rate_sections(model: TransformerNet) -> dict[str, str]:
    """Each parameter's section, for adaptation's rates: "norm" (InstanceNorm affine), "residual" (the
    residual blocks' convolutions), "output" (the last convolution, to RGB) or "other"."""
    norm = set(in_parameter_names(model))
    residual = {f"{m}.{n}" for m, module in model.named_modules() if isinstance(module, ResidualBlock) for n, _ in module.named_parameters()}
    output = {f"net.{len(model.net) - 1}.{n}" for n, _ in model.net[-1].named_parameters()}
    return {name: "norm" if name in norm else "residual" if name in residual else "output" if name in output else "other"
            for name, _ in model.named_parameters()}


def in_parameter_count(model: nn.Module) -> int:
    params = dict(model.named_parameters())
    return sum(params[name].numel() for name in in_parameter_names(model))


def width_of(state: dict[str, torch.Tensor]) -> int:
    """The width of the network whose weights these are: the first convolution's output channels."""
    return state["net.0.0.1.weight"].shape[0]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
