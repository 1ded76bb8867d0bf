"""Stylising images larger than memory allows, in overlapping tiles without visible seams.

Two things make tiles of an InstanceNorm network disagree with the whole image: each tile's
normalisation statistics, and the borders of each tile. So the statistics of every InstanceNorm
layer are first recorded on the whole image (scaled down to at most `stats_size` pixels on its
longer side) and then imposed on every tile; tiles overlap, and their outputs are blended with
linear ramps across the overlaps.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .errors import MetastyleError
from .transformer import TransformerNet

AUTO_TILE_PIXELS = 4_000_000  # beyond this, `tile=None` stylises in tiles
MIN_TILE = 64  # px: smaller tiles would be mostly overlap, and below 6 px the tiles would not advance


def check_tile(tile: int | None) -> int | None:
    """`tile` as `render` takes it: None (automatic), 0 (never) or at least MIN_TILE pixels."""
    if tile is not None and (tile < 0 or 0 < tile < MIN_TILE):
        raise MetastyleError(f"tile must be 0 (never) or at least {MIN_TILE} px, got {tile}")
    return tile


@contextlib.contextmanager
def _norm_statistics(model: nn.Module, stats: dict[str, tuple[torch.Tensor, torch.Tensor]], record: bool) -> Iterator[None]:
    """Record each InstanceNorm layer's per-channel mean and variance, or normalise with recorded ones."""

    def recorder(name: str):
        def hook(module: nn.Module, inputs: tuple[torch.Tensor], output: torch.Tensor) -> None:
            x = inputs[0].float()  # statistics in float32 even under bf16 autocast
            stats[name] = (x.mean((2, 3), keepdim=True), x.var((2, 3), unbiased=False, keepdim=True))
        return hook

    def imposer(name: str):
        def hook(module: nn.InstanceNorm2d, inputs: tuple[torch.Tensor], output: torch.Tensor) -> torch.Tensor:
            mean, var = stats[name]
            normalised = (inputs[0].float() - mean) * torch.rsqrt(var + module.eps)
            return normalised * module.weight.view(1, -1, 1, 1) + module.bias.view(1, -1, 1, 1)
        return hook

    hooks = [
        module.register_forward_hook(recorder(name) if record else imposer(name))
        for name, module in model.named_modules()
        if isinstance(module, nn.InstanceNorm2d)
    ]
    try:
        yield
    finally:
        for h in hooks:
            h.remove()


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    """Tile offsets, multiples of the network's total stride (4) so that every tile samples the
    same grid as the whole image would; the last tile ends at the image's edge."""
    stride = TransformerNet.MULTIPLE
    if length <= tile:
        return [0]
    step = (tile - overlap) // stride * stride
    last = -(-(length - tile) // stride) * stride
    return list(range(0, last, step)) + [last]


def _ramp(length: int, overlap: int, rise: bool, fall: bool) -> torch.Tensor:
    """1 inside, rising/falling linearly over `overlap` pixels at the edges shared with neighbours."""
    ramp = torch.ones(length)
    n = min(overlap, length)
    edge = torch.arange(1, n + 1, dtype=torch.float32) / (n + 1)
    if rise:
        ramp[:n] = torch.minimum(ramp[:n], edge)
    if fall:
        ramp[-n:] = torch.minimum(ramp[-n:], edge.flip(0))
    return ramp


@torch.inference_mode()
def stylize_tiled(model: TransformerNet, image: torch.Tensor, tile: int = 512, overlap: int = 128, stats_size: int = 2048,
                  on_tile: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """Stylise a 1x3xHxW image tile by tile; memory grows with `tile`, not with the image.
    `on_tile(done, tiles)` follows each tile (a 24-megapixel photo takes minutes on a CPU)."""
    if overlap * 2 >= tile:
        raise ValueError("overlap must be less than half the tile size")
    h, w = image.shape[-2:]
    scale = min(1.0, stats_size / max(h, w))
    small = image if scale == 1.0 else F.interpolate(image, scale_factor=scale, mode="bilinear", antialias=True)
    stats: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    with _norm_statistics(model, stats, record=True):
        model(small)
    out = torch.zeros_like(image)
    weight = image.new_zeros(1, 1, h, w)
    ys, xs = _starts(h, tile, overlap), _starts(w, tile, overlap)
    done = 0
    with _norm_statistics(model, stats, record=False):
        for y in ys:
            for x in xs:
                crop = image[..., y : y + tile, x : x + tile]
                th, tw = crop.shape[-2:]
                ramp_y = _ramp(th, overlap, rise=y > 0, fall=y + th < h)
                ramp_x = _ramp(tw, overlap, rise=x > 0, fall=x + tw < w)
                mask = (ramp_y[:, None] * ramp_x[None, :]).to(image.device)
                out[..., y : y + th, x : x + tw] += model(crop) * mask
                weight[..., y : y + th, x : x + tw] += mask
                done += 1
                if on_tile is not None:
                    on_tile(done, len(ys) * len(xs))
    return out / weight
