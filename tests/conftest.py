"""Shared fixtures: a session-wide VGG-19, small test images, and CLI runners (in-process, and in a subprocess)."""

from __future__ import annotations

import contextlib
import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import torch
from PIL import Image

from metastyle.vgg import VGG19


@pytest.fixture(scope="session")
def vgg() -> VGG19:
    return VGG19()


def smooth_photo(path: Path, size: tuple[int, int] = (48, 40), seed: int = 0) -> Path:
    """A photo-like image: smooth gradients and a few shapes, deterministic."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w] / max(w, h)
    array = np.stack([x, y, 1 - x * y], axis=-1)
    for _ in range(3):
        cx, cy, r = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.1, 0.25)
        array[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.uniform(0, 1, 3)
    Image.fromarray((array * 255).astype(np.uint8)).save(path)
    return path


def stripes(path: Path, size: tuple[int, int] = (48, 48)) -> Path:
    """A strongly textured 'painting': coloured diagonal stripes."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    band = ((x + y) // 4) % 3
    palette = np.array([[220, 40, 30], [30, 60, 200], [250, 220, 40]], dtype=np.uint8)
    Image.fromarray(palette[band]).save(path)
    return path


def write_png(path: Path, width: int, height: int, bit_depth: int, colour_type: int, raw: bytes) -> Path:
    """A PNG written by hand, for what Pillow will not write (16-bit RGB, lying headers)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


def png_with_size(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header claims `width` x `height` (a decompression bomb's header)."""
    return write_png(path, width, height, 8, 0, b"\x00" * 64)


def png16_rgb(path: Path, array: np.ndarray) -> Path:
    """An HxWx3 uint16 array as a 16-bit-per-channel RGB PNG."""
    h, w, _ = array.shape
    return write_png(path, w, h, 16, 2, b"".join(b"\x00" + array[row].astype(">u2").tobytes() for row in range(h)))


def pointwise_features(layers_channels: dict[str, int]):
    """A stand-in for VGG-19 whose features at each pixel depend on that pixel only, so that the
    features of a collage are exactly the collage of the features."""
    gen = torch.Generator().manual_seed(3)
    maps = {layer: (torch.randn(c, 3, generator=gen), torch.randn(c, 1, 1, generator=gen)) for layer, c in layers_channels.items()}
    return lambda image, layers: {l: (torch.einsum("ck,bkhw->bchw", maps[l][0], image) + maps[l][1]).abs() for l in layers}


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return smooth_photo(tmp_path / "photo.png")


@pytest.fixture
def painting(tmp_path: Path) -> Path:
    return stripes(tmp_path / "painting.png")


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """A tiny meta-training set: 3 striped paintings and 6 smooth photos of different sizes."""
    styles, photos = tmp_path / "styles", tmp_path / "photos"
    styles.mkdir(), photos.mkdir()
    for i in range(3):
        stripes(styles / f"s{i}.png", size=(24 + 8 * i, 40))
    for i in range(6):
        smooth_photo(photos / f"p{i}.png", size=(40, 32 + 4 * i), seed=i)
    return styles, photos


class CliResult(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run `metastyle ARGS` in this process (cli.main, in `cwd`), capturing what it prints."""
    from metastyle import cli

    def run(*args: str, cwd: Path | None = None) -> CliResult:
        monkeypatch.chdir(cwd or tmp_path)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main([str(a) for a in args])
            except SystemExit as stop:  # argparse: --help, --version, usage errors
                code = stop.code if isinstance(stop.code, int) else 1
        return CliResult(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def run_cli_process(tmp_path: Path):
    """Run `python -m metastyle ARGS` in a new process, as a user would: the few end-to-end checks."""

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        return subprocess.run(
            [sys.executable, "-m", "metastyle", *map(str, args)],
            capture_output=True, text=True, cwd=cwd or tmp_path, env=env, timeout=600,
        )

    return run
