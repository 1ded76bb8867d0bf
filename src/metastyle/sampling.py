"""Training data streams: seeded splits of a set of images and random square crops from them."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from .errors import MetastyleError
from .images import open_image, pil_to_tensor


def split_holdout(paths: list[Path], fraction: float, seed: int = 0) -> tuple[list[Path], list[Path]]:
    """A seeded, disjoint (train, held-out) split with at least one image on each side."""
    if len(paths) < 2:
        raise MetastyleError("need at least two content images to split off a validation set")
    order = torch.randperm(len(paths), generator=torch.Generator().manual_seed(seed)).tolist()
    n_held = min(len(paths) - 1, max(1, round(len(paths) * fraction)))
    held = sorted(paths[i] for i in order[:n_held])
    return sorted(paths[i] for i in order[n_held:]), held


class ImageSampler:
    """Square `size` crops of a set of images: the content (or style) stream for training.

    With `augment`, each crop takes a random square of 67-100% of the image's shorter side at a
    random place, flipped half the time (small photo sets need this); without, the centre square
    (the paper's resize-and-centre-crop). Decoded images are kept in memory up to `cache_limit`.
    """

    def __init__(self, paths: list[Path], size: int, augment: bool = True, cache_limit: int = 2000):
        self.paths, self.size, self.augment = list(paths), size, augment
        self._cache: dict[int, torch.Tensor] | None = {} if len(self.paths) <= cache_limit else None

    def __len__(self) -> int:
        return len(self.paths)

    def _image(self, index: int) -> torch.Tensor:
        if self._cache is not None and index in self._cache:
            return self._cache[index]
        image = open_image(self.paths[index])
        # Shorter side 1.5x the crop: room for random scales without decoding full-size photos.
        scale = 1.5 * self.size / min(image.size) if self.augment else self.size / min(image.size)
        image = image.resize((max(self.size, round(image.width * scale)), max(self.size, round(image.height * scale))), Image.Resampling.LANCZOS)
        tensor = pil_to_tensor(image)
        if self._cache is not None:
            self._cache[index] = tensor
        return tensor

    def crop(self, index: int, generator: torch.Generator) -> torch.Tensor:
        image = self._image(index)
        h, w = image.shape[-2:]
        if not self.augment:
            top, left = (h - self.size) // 2, (w - self.size) // 2
            return image[..., top : top + self.size, left : left + self.size]
        side = int(torch.randint(round(min(h, w) * 2 / 3), min(h, w) + 1, (), generator=generator))
        crop = F.interpolate(_window(image, side, side, generator), size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False)
        return mirrored_half_the_time(crop, generator)

    def sample(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        indices = torch.randint(len(self.paths), (batch,), generator=generator).tolist()
        return torch.cat([self.crop(i, generator) for i in indices])

    @property
    def pixels(self) -> int:
        """Pixels in one crop."""
        return self.size * self.size


class PhotoWindows:
    """Random windows of the photos to be stylised, at the size they are stylised: adaptation then
    fits the pixels the network will see, not other photos' (RESULTS.md, "Adapting on the photo").

    Each window is `size` px square, or the whole side where a photo is smaller; one batch's windows
    share the smallest photo's shape. Never mirrored: a mirror image is a photo the network will not
    draw, and without flips 12 steps end 6% lower (median `score` total, 23 of 24 training pairs;
    RESULTS.md, "Adapting on the photo: no mirror, the pixels' steps").
    """

    def __init__(self, photos: list[torch.Tensor], size: int):
        if not photos:
            raise MetastyleError("need at least one photo to adapt on")
        self.photos = [p if p.dim() == 4 else p.unsqueeze(0) for p in photos]
        self.height = min(size, *(p.shape[-2] for p in self.photos))
        self.width = min(size, *(p.shape[-1] for p in self.photos))

    def __len__(self) -> int:
        return len(self.photos)

    def sample(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        indices = torch.randint(len(self.photos), (batch,), generator=generator).tolist()
        return torch.cat([_window(self.photos[i], self.height, self.width, generator) for i in indices])

    @property
    def pixels(self) -> int:
        """Pixels in one window."""
        return self.height * self.width


def _window(image: torch.Tensor, height: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """A `height` x `width` piece of `image` at a random place."""
    top = int(torch.randint(0, image.shape[-2] - height + 1, (), generator=generator))
    left = int(torch.randint(0, image.shape[-1] - width + 1, (), generator=generator))
    return image[..., top : top + height, left : left + width]


def mirrored_half_the_time(image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """`image`, mirrored left to right on a seeded coin flip: training crops (and the benchmark of
    mirrored windows, benchmarks/photo_windows.py) draw it."""
    return image.flip(-1) if bool(torch.rand((), generator=generator) < 0.5) else image
