"""`metastyle demo`: the whole method in one command, on images the shipped model never saw.

It adapts the shipped meta-trained model to a held-out built-in painting on windows of a held-out
built-in photo, stylises that photo, and writes content | style | result side by side, timing each stage.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from .adapt import AdaptConfig
from .data import resolve_image
from .device import resolve_device
from .images import (
    check_output_path,
    open_image,
    pil_to_tensor,
    resize_longest,
    save_image,
    tensor_to_pil,
)
from .inference import Stylizer
from .pipeline import adapt
from .vgg import VGG19

DEMO_PHOTO = "builtin:chelsea"
DEMO_STYLE = "builtin:wheat-field-with-cypresses"
DEMO_OUTPUT = "metastyle-demo.png"


def side_by_side(images: list[Image.Image], labels: list[str], height: int = 384, gap: int = 8) -> Image.Image:
    """The images scaled to one height, in a row on white, each captioned underneath."""
    scaled = [i.resize((max(1, round(i.width * height / i.height)), height), Image.Resampling.LANCZOS) for i in images]
    caption = 22
    sheet = Image.new("RGB", (sum(i.width for i in scaled) + gap * (len(scaled) + 1), height + 2 * gap + caption), "white")
    draw = ImageDraw.Draw(sheet)
    x = gap
    for image, label in zip(scaled, labels):
        sheet.paste(image, (x, gap))
        draw.text((x, gap + height + 5), label, fill="black")
        x += image.width + gap
    return sheet


def stacked(rows: list[Image.Image]) -> Image.Image:
    """Rows (from `side_by_side`) one under another on white: a grid."""
    sheet = Image.new("RGB", (max(r.width for r in rows), sum(r.height for r in rows)), "white")
    y = 0
    for row in rows:
        sheet.paste(row, (0, y))
        y += row.height
    return sheet


def unused_path(path: str | os.PathLike) -> Path:
    """`path`, or the first of path-2, path-3, ... that does not exist: the demo never overwrites."""
    path = Path(path).absolute()
    n = 2
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


def run_demo(
    photo: str = DEMO_PHOTO,
    style: str = DEMO_STYLE,
    output: str | os.PathLike | None = None,
    size: int = 512,
    config: AdaptConfig | None = None,
    device: str | torch.device = "auto",
    report: Callable[[str], None] = print,
    overwrite: bool = False,
) -> tuple[Path, dict[str, float]]:
    """Adapt, stylise and compose; returns the PNG written and the seconds each stage took."""
    dev = resolve_device(device)
    photo_path, style_path = resolve_image(photo), resolve_image(style)
    # --overwrite replaces an output, never one of the inputs
    out = check_output_path(output, inputs=[photo_path, style_path], overwrite=overwrite) if output is not None else unused_path(DEMO_OUTPUT)
    timings: dict[str, float] = {}
    tick = time.perf_counter()
    photo_image = resize_longest(open_image(photo_path), size)
    style_image = open_image(style_path)
    vgg = VGG19().to(dev)
    timings["load"] = time.perf_counter() - tick
    report(f"load: {timings['load']:.1f} s (VGG-19 loss network, photo {photo}, painting {style})")

    tick = time.perf_counter()
    photo_tensor = pil_to_tensor(photo_image).to(dev)
    network, info = adapt(style, photos=[photo_tensor], config=config, device=device, progress=True, vgg=vgg)
    timings["adapt"] = time.perf_counter() - tick
    settings = info["settings"]
    report(f"adapt: {timings['adapt']:.1f} s ({settings['steps']} steps, {settings['batch']}x{settings['size']} px "
           f"{info['content']}, from {info['init']})")

    tick = time.perf_counter()
    result = Stylizer(network)(photo_tensor)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    timings["stylize"] = time.perf_counter() - tick
    report(f"stylize: {timings['stylize']:.2f} s ({photo_image.width}x{photo_image.height} px, one forward pass)")

    tick = time.perf_counter()
    sheet = side_by_side([photo_image, style_image, tensor_to_pil(result)], ["content", "style", "MetaStyle"])
    save_image(sheet, out)
    timings["save"] = time.perf_counter() - tick
    timings["total"] = sum(timings.values())
    report(f"save: {timings['save']:.2f} s; total {timings['total']:.1f} s")
    return out, timings
