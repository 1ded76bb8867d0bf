"""What users ask of a style model beyond one forward pass: mixing styles, strength and colour.

- Mixing is the paper's style interpolation: a convex combination of adapted models' parameters
  (all adapted from one initialisation, so their parameters stay comparable).
- Strength blends the photo and the stylised image in pixel space: 0 is the photo, 1 the style.
- Colour preservation keeps the photo's chrominance and takes only the luminance of the
  stylised image (Gatys et al., "Preserving Color in Neural Artistic Style Transfer", 2016).
"""

from __future__ import annotations

import math
import os

import torch

from .errors import MetastyleError
from .models import load_model
from .transformer import TransformerNet

# ITU-R BT.601 luma weights (the JPEG/YCbCr convention).
_LUMA = (0.299, 0.587, 0.114)


def parse_mix(spec: str) -> list[tuple[str, float]]:
    """'a.safetensors:0.7,b.safetensors:0.3' -> [(path, weight), ...], weights checked to be convex."""
    pairs = []
    for part in spec.split(","):
        path, sep, weight = part.strip().rpartition(":")
        if not sep or not path:
            raise MetastyleError(f"--mix takes MODEL:WEIGHT,MODEL:WEIGHT,...; got {part.strip()!r}")
        try:
            pairs.append((path, float(weight)))
        except ValueError:
            raise MetastyleError(f"--mix: {weight!r} is not a number (in {part.strip()!r})") from None
    weights = [w for _, w in pairs]
    if any(w < 0 or not math.isfinite(w) for w in weights):
        raise MetastyleError(f"--mix weights must be finite and non-negative, got {weights}")
    if abs(sum(weights) - 1.0) > 1e-6:
        raise MetastyleError(f"--mix weights must sum to 1, got {sum(weights):g} ({weights})")
    return pairs


def mix_models(pairs: list[tuple[str | os.PathLike | TransformerNet, float]], device: str | torch.device = "cpu") -> TransformerNet:
    """The network whose every parameter is the weighted sum of the given networks' parameters."""
    if not pairs:
        raise MetastyleError("--mix needs at least one model")
    networks = [(m if isinstance(m, TransformerNet) else load_model(m)[0], w) for m, w in pairs]
    states = [(n.state_dict(), w) for n, w in networks]
    if len({n.width for n, _ in networks}) > 1:
        raise MetastyleError("--mix needs models of one size (a small model cannot mix with a full one)")
    mixed = {k: sum(w * state[k].float() for state, w in states) for k in states[0][0]}
    model = TransformerNet(networks[0][0].width)
    model.load_state_dict(mixed)
    return model.to(device).eval()


def luminance(image: torch.Tensor) -> torch.Tensor:
    weights = image.new_tensor(_LUMA).view(1, 3, 1, 1)
    return (image * weights).sum(dim=1, keepdim=True)


def transfer_luminance(photo: torch.Tensor, stylized: torch.Tensor) -> torch.Tensor:
    """The stylised image's luminance with the photo's colour (YCbCr chrominance): Y' + (photo - Y)."""
    return (photo - luminance(photo) + luminance(stylized)).clamp(0, 1)


def check_strength(strength: float, name: str = "strength") -> float:
    """Callers check it early, before any adaptation, as well as where it is applied."""
    if not 0.0 <= strength <= 1.0:
        raise MetastyleError(f"{name} must be between 0 and 1, got {strength}")
    return strength


def apply_strength(photo: torch.Tensor, stylized: torch.Tensor, strength: float) -> torch.Tensor:
    return torch.lerp(photo, stylized, check_strength(strength))
