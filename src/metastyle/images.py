"""Image input and output that real users' files survive.

Every image enters as RGB in [0, 1] (a float tensor of shape 1x3xHxW) whatever its file held:
EXIF rotation applied, transparency composited on white, palette, greyscale, CMYK and 16-bit
data converted. Every problem with a file becomes a one-line `MetastyleError`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import MetastyleError
from .files import atomic_path, writable_folder

# 100 megapixels: a 6000x4000 photo passes; a decompression bomb does not.
MAX_PIXELS = 100_000_000
MAX_SIDE = 10_000  # px: the side of a square of MAX_PIXELS, the largest crop or painting size a setting may ask for
OUTPUT_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}


def open_image(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open an image file as an upright RGB Pillow image, or explain in one line why not."""
    path = Path(path)
    if not path.exists():
        raise MetastyleError(f"{path}: no such file")
    if path.is_dir():
        raise MetastyleError(f"{path}: is a folder, not an image file")
    if path.stat().st_size == 0:
        raise MetastyleError(f"{path}: the file is empty (zero bytes)")
    try:
        with warnings.catch_warnings():
            # Our own pixel limit below replaces Pillow's warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
            width, height = image.size
            if width == 0 or height == 0:
                raise MetastyleError(f"{path}: the image has zero size ({width}x{height})")
            if width * height > max_pixels:
                raise MetastyleError(
                    f"{path}: {width}x{height} is {width * height:,} pixels, over the limit of "
                    f"{max_pixels:,} (a decompression bomb, or an image too large to process)"
                )
            image.load()
    except Image.DecompressionBombError as error:
        raise MetastyleError(f"{path}: over the pixel limit ({error})") from None
    except UnidentifiedImageError:
        raise MetastyleError(f"{path}: not an image file (or a format Pillow cannot read)") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise MetastyleError(f"{path}: the image is truncated or corrupt ({error})") from None
    return to_rgb(ImageOps.exif_transpose(image))


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB; transparent pixels become white."""
    if image.mode in _SIXTEEN_BIT_MODES:
        grey = np.asarray(image, dtype=np.float32) / 65535.0
        image = Image.fromarray(np.round(grey.clip(0, 1) * 255).astype(np.uint8), mode="L")
    elif image.mode == "F":
        grey = np.asarray(image, dtype=np.float32)
        grey = grey if grey.max(initial=0) <= 1.0 else grey / 255.0
        image = Image.fromarray(np.round(grey.clip(0, 1) * 255).astype(np.uint8), mode="L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def resize_longest(image: Image.Image, size: int | None) -> Image.Image:
    """Scale so that the longer side is `size` pixels (aspect kept); None keeps the image as it is."""
    if size is None or max(image.size) == size:
        return image
    if size < 1:
        raise MetastyleError(f"size must be a positive number of pixels, got {size}")
    width, height = image.size
    scale = size / max(width, height)
    new = (max(1, round(width * scale)), max(1, round(height * scale)))
    if new[0] * new[1] > MAX_PIXELS:  # the same limit as a file's: memory, not a crash of the machine
        raise MetastyleError(f"size {size}: this image would become {new[0]}x{new[1]} px, over the limit of {MAX_PIXELS // 10**6} megapixels")
    return image.resize(new, Image.Resampling.LANCZOS)


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    array = np.asarray(image, dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()


def tensor_to_pil(tensor: torch.Tensor) -> Image.Image:
    """A 1x3xHxW (or 3xHxW) tensor in [0, 1] as an 8-bit RGB image; values outside are clipped."""
    array = tensor.detach().squeeze(0).clamp(0, 1).mul(255).round().byte().permute(1, 2, 0)
    return Image.fromarray(array.cpu().numpy(), mode="RGB")


def load_image(path: str | os.PathLike, size: int | None = None) -> torch.Tensor:
    """Read an image file as a 1x3xHxW RGB tensor in [0, 1], its longer side scaled to `size`."""
    return pil_to_tensor(resize_longest(open_image(path), size))


def check_output_path(
    path: str | os.PathLike,
    inputs: Iterable[str | os.PathLike] = (),
    overwrite: bool = False,
    suffixes: Iterable[str] = tuple(OUTPUT_FORMATS),
) -> Path:
    """Fail now, before any long computation, if the result could not be written to `path`.

    Refuses extensions other than `suffixes` (images by default), an input file as the output,
    and (without `overwrite`) an existing file; creates missing folders; proves that the folder
    is writable.
    """
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        known = ", ".join(suffixes)
        raise MetastyleError(f"{path}: unsupported output extension {path.suffix!r} (use one of {known})")
    for source in inputs:
        if Path(source).exists() and path.exists() and os.path.samefile(source, path):
            raise MetastyleError(f"{path}: is an input file; refusing to overwrite it")
    if path.is_dir():
        raise MetastyleError(f"{path}: is a folder; give a file name for the output")
    if path.exists() and not overwrite:
        raise MetastyleError(f"{path}: already exists (pass --overwrite to replace it)")
    writable_folder(path.parent)
    return path


def save_image(image: torch.Tensor | Image.Image, path: str | os.PathLike) -> Path:
    """Write an image in the format its extension names, atomically (never a half-written file)."""
    path = Path(path)
    fmt = OUTPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise MetastyleError(f"{path}: unsupported output extension {path.suffix!r}")
    if isinstance(image, torch.Tensor):
        image = tensor_to_pil(image)
    options = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            image.save(tmp, format=fmt, **options)
    except OSError as error:
        raise MetastyleError(f"{path}: cannot write the image ({error.strerror or error})") from None
    return path
