"""The user-facing Python API: adapt to a painting, stylise photos, with files in and files out.

    model, info = metastyle.adapt("builtin:irises", output="irises.safetensors")
    image = metastyle.stylize("photo.jpg", model="irises.safetensors")    # a PIL image
    image = metastyle.stylize("photo.jpg", style="my-painting.jpg")       # adapts once, then cached
    image = metastyle.stylize("photo.jpg", mix="a.safetensors:0.7,b.safetensors:0.3", strength=0.8)
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from tqdm import tqdm

from .adapt import ADAPT_LOSS, AdaptConfig, adapt_network, default_adapt_config
from .controls import (
    apply_strength,
    check_strength,
    mix_models,
    parse_mix,
    transfer_luminance,
)
from .data import list_images, resolve_image, training_builtins
from .device import resolve_device
from .files import cache_dir, file_sha256
from .images import check_output_path, load_image, open_image, pil_to_tensor, resize_longest, tensor_to_pil
from .inference import InferenceConfig, Stylizer, at_work_size
from .losses import LossTerms
from .models import load_model, read_info, save_model
from .sampling import ImageSampler, PhotoWindows
from .start import load_start, shipped_start
from .tiling import AUTO_TILE_PIXELS, check_tile, stylize_tiled
from .transformer import TransformerNet
from .vgg import VGG19, check_side


# Changes with what adaptation does for the same settings, so that cached networks of an older recipe
# are adapted again: 2 since windows are never mirrored, smaller ones take the pixels' steps, and a
# predicted start adapts faster on them (RESULTS.md, "Adapting on the photo: no mirror, the pixels' steps");
# 3 since its residual blocks and last convolution adapt at rates of their own there ("Rates by section");
# 4 since the default loss weights the content 60 there, not 80 ("The content weight on windows");
# 5 since that weight follows the painting's loudness at a power of 0.75 ("Faint and loud paintings on windows");
# 6 since Adam's momentum is 0.7 there, not 0.9 ("Less momentum on windows");
# 7 since that momentum rises with the steps asked for ("A momentum that follows the budget");
# 8 since a random start adapts at 5e-4 there ("Johnson's random start at its own rate").
ADAPTATION_RECIPE = 8

# What adaptation may take windows of: a photo's file, its PIL image or a 1x3xHxW tensor in [0, 1].
PhotoLike = str | os.PathLike | Image.Image | torch.Tensor


def _content_sampler(content_dir: str | os.PathLike | None, photos: Sequence[torch.Tensor] | None, size: int) -> ImageSampler | PhotoWindows:
    """Adaptation's crops: windows of the photos to be stylised where they are known (a third lower
    `score` total than other photos' crops: RESULTS.md, "Adapting on the photo"), else crops of a
    folder of photos or of the built-in ones."""
    if photos and content_dir is not None:
        raise ValueError("give photos= or content_dir=, not both")
    if photos:
        for photo in photos:
            check_side(photo)  # now, not at the first step
        return PhotoWindows(list(photos), size)
    paths = list_images(content_dir) if content_dir is not None else training_builtins("photo")
    return ImageSampler(paths, size, augment=True)


def _photo_tensor(photo: PhotoLike) -> torch.Tensor:
    if isinstance(photo, torch.Tensor):
        return photo
    return pil_to_tensor(photo if isinstance(photo, Image.Image) else open_image(resolve_image(photo)))


def _content_label(content_dir: str | os.PathLike | None, photos: Sequence[PhotoLike] | None) -> str:
    if photos:
        return "windows of the photo stylised" if len(photos) == 1 else f"windows of the {len(photos)} photos stylised"
    return f"crops of {Path(content_dir).name}" if content_dir is not None else "crops of the built-in photos"


def adapt(
    style: str | os.PathLike,
    *,
    output: str | os.PathLike | None = None,
    init: str | os.PathLike | None = None,
    content_dir: str | os.PathLike | None = None,
    photos: Sequence[PhotoLike] | None = None,
    config: AdaptConfig | None = None,
    device: str | torch.device = "auto",
    progress: bool = False,
    kind: str = "adapted",
    on_progress: Callable[[int, int], None] | None = None,
    vgg: VGG19 | None = None,
    overwrite: bool = False,
) -> tuple[TransformerNet, dict[str, Any]]:
    """Adapt the initialisation (`init`: a model file, "small", "full", "random", or None for the
    shipped start, `start.shipped_start`) to a style.

    Adaptation's crops are windows of `photos` when given (files, PIL images or 1x3xHxW tensors, at
    the size they will be stylised): the network then fits the pixels it will see; else crops of
    the photos in `content_dir`, or of the built-in photos.
    `config` defaults to the device's (`default_adapt_config`: the reference on CUDA, fast on the CPU);
    the learning rates it leaves open are the start's own (`Start.rates_for` the content).
    Returns the network and its metadata; with `output`, also saves it as a model file, checked
    first: never the painting, and an existing file only with `overwrite`.
    `on_progress(step, steps)` reports progress (the web page uses it).
    """
    style_path = resolve_image(style)
    if output is not None:
        check_output_path(output, inputs=[style_path], overwrite=overwrite, suffixes=(".safetensors",))
    dev = resolve_device(device)
    config = config or default_adapt_config(dev)
    style_image = load_image(style_path, config.style_size).to(dev)
    check_side(style_image)  # now, not at the first step
    content = _content_sampler(content_dir, [_photo_tensor(p).to(dev) for p in photos or ()], config.size)
    start = load_start(init if init is not None else shipped_start(), config.seed)
    config = config.with_rates(start.rates_for(content)).for_content(content)
    if progress:
        print(f"initialisation: {start.description}")
    vgg = vgg if vgg is not None else VGG19().to(dev)
    model = start.for_painting(style_path, vgg)
    with tqdm(total=config.steps, desc=kind.replace("-", " "), unit="step", disable=not progress) as bar:

        def report(step: int, terms: LossTerms, _: TransformerNet) -> None:
            bar.set_postfix(content=f"{float(terms.content):.3g}", style=f"{float(terms.style):.3g}", refresh=False)
            bar.update(1)
            if on_progress is not None:
                on_progress(step, config.steps)

        model, terms = adapt_network(model, style_image, content, config, vgg, on_step=report, code_basis=start.code_basis)
    info = {
        "kind": kind,
        "style": str(style) if str(style).startswith("builtin:") else style_path.name,
        "style_sha256": file_sha256(style_path),
        "init": start.description,
        "steps": config.steps,
        "size": config.size,
        "content": _content_label(content_dir, photos),
        "settings": asdict(config),
        "final_losses": {"content": float(terms.content), "style": float(terms.style), "total": float(terms.total)},
    }
    if output is not None:
        save_model(model, output, info)
    return model, info


def adapted_dir() -> Path:
    """Where `stylize --style` and the web page keep the models they adapt."""
    return cache_dir() / "adapted"


def cached_adaptation(
    style: str | os.PathLike,
    init: str | os.PathLike | None,
    config: AdaptConfig,
    device: str | torch.device,
    progress: bool,
    on_progress: Callable[[int, int], None] | None = None,
    photos: Sequence[torch.Tensor] | None = None,
) -> TransformerNet:
    """Adapt once per (style file, initialisation, settings, photos adapted on, recipe); later calls load the cached model."""
    if init is None:
        init = shipped_start()
        init = init if init.is_file() else "random"
    init_key = "random" if str(init) == "random" else file_sha256(init)
    style_path = resolve_image(style)
    photo_keys = [hashlib.sha256(p.detach().cpu().contiguous().numpy().tobytes()).hexdigest() for p in photos or ()]
    default_loss = config.loss is ADAPT_LOSS  # windows change the default loss, not a given one (`AdaptConfig.for_content`)
    settings = [asdict(config), default_loss]
    key = hashlib.sha256(json.dumps([file_sha256(style_path), init_key, settings, photo_keys, ADAPTATION_RECIPE], sort_keys=True).encode()).hexdigest()
    cached = adapted_dir() / f"{style_path.stem}-{key[:16]}.safetensors"
    if cached.is_file():
        try:
            read_info(cached)
            if progress:
                print(f"using the cached adaptation {cached}")
            return load_model(cached, device)[0]
        except Exception:
            pass  # a damaged cache entry is adapted again
    model, _ = adapt(style, output=cached, init=init, photos=photos, config=config, device=device, progress=progress,
                     on_progress=on_progress, overwrite=True)  # over a damaged entry
    return model


def network_for(
    *,
    model: str | os.PathLike | TransformerNet | None = None,
    style: str | os.PathLike | None = None,
    mix: str | list[tuple[str | os.PathLike, float]] | None = None,
    config: AdaptConfig | None = None,
    device: str | torch.device = "auto",
    progress: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    photos: Sequence[torch.Tensor] | None = None,
) -> TransformerNet:
    """The network that exactly one of a model (file or network), a style (adapted once with
    `config` on windows of `photos` if given, then cached) or a mix of models
    ("a.safetensors:0.7,b.safetensors:0.3") names."""
    if sum(x is not None for x in (model, style, mix)) != 1:
        raise ValueError("give exactly one of model=, style= or mix=")
    dev = resolve_device(device)
    if isinstance(model, TransformerNet):
        return model.to(dev).eval()
    if model is not None:
        return load_model(model, dev)[0]
    if mix is not None:
        return mix_models(parse_mix(mix) if isinstance(mix, str) else mix, dev)
    return cached_adaptation(style, None, config or default_adapt_config(dev), dev, progress, on_progress, photos).to(dev).eval()


def render(stylizer: Stylizer, photo: torch.Tensor, strength: float = 1.0, preserve_color: bool = False, tile: int | None = None,
           progress: bool = False) -> torch.Tensor:
    """Stylise a 1x3xHxW tensor: whole or in tiles (`tile`: pixels; 0 never; None when over 4 MP),
    then colour preservation and strength; `progress` shows a bar over the tiles."""
    if check_tile(tile) is None:
        tile = 1024 if photo.shape[-2] * photo.shape[-1] > AUTO_TILE_PIXELS else 0
    if tile:
        with stylizer.precision(), tqdm(desc="tiles", unit="tile", disable=not progress) as bar:

            def on_tile(done: int, tiles: int) -> None:
                bar.total = tiles
                bar.update(done - bar.n)

            stylized = stylize_tiled(stylizer.network, photo, tile=tile, overlap=min(128, tile // 4), on_tile=on_tile).float()
    else:
        stylized = stylizer(photo)
    if preserve_color:
        stylized = transfer_luminance(photo, stylized)
    return apply_strength(photo, stylized, strength)


def stylize(
    image: str | os.PathLike | Image.Image,
    *,
    model: str | os.PathLike | TransformerNet | Stylizer | None = None,
    style: str | os.PathLike | None = None,
    mix: str | list[tuple[str, float]] | None = None,
    size: int | None = None,
    strength: float = 1.0,
    preserve_color: bool = False,
    tile: int | None = None,
    inference: InferenceConfig | None = None,
    device: str | torch.device = "auto",
    progress: bool = False,
) -> Image.Image:
    """Stylise one image with a model (file, network or `Stylizer`), a style (adapted on this photo
    once, then cached), or a mix of models ("a.safetensors:0.7,b.safetensors:0.3").

    The result has the input's size, or `size` pixels on its longer side. `progress` shows bars for
    the adaptation and the tiles, if any. `inference` chooses the
    precision, engine and working size; for many images pass one `Stylizer(network, inference)` as
    `model`, so that what it compiles serves them all.
    """
    check_strength(strength)
    picture = image if isinstance(image, Image.Image) else open_image(resolve_image(image))
    photo = pil_to_tensor(resize_longest(picture, size))
    if isinstance(model, Stylizer):
        if inference is not None:
            raise ValueError("a Stylizer has its own inference settings: give inference= or a Stylizer, not both")
        stylizer = model
    else:
        inference = inference or InferenceConfig()
        adapt_on = [at_work_size(photo, inference.work_size)] if style is not None else None
        network = network_for(model=model, style=style, mix=mix, device=resolve_device(device), progress=progress, photos=adapt_on)
        stylizer = Stylizer(network, inference)
    return tensor_to_pil(render(stylizer, photo.to(stylizer.device), strength, preserve_color, tile, progress))
