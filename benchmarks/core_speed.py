"""Seconds per meta-training iteration, per adaptation step, and per stylised image.

Real data, real sizes: built-in paintings and photos, the reference settings (meta-batch 4 styles,
batches of 4 at 256 px; adaptation batches of 4 at 256 px), stylisation of a real photo resized
to 256, 512 and 1024 px. Each figure is the median of repeats after a warm-up run (metastyle.timing). Runs on the CPU or on CUDA.

Run by hand:  .venv/bin/python benchmarks/core_speed.py [--device cuda] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
from dataclasses import replace

import torch

from metastyle.adapt import AdaptConfig, adapt_network
from metastyle.data import builtin_paintings, builtin_photos
from metastyle.sampling import ImageSampler
from metastyle.images import load_image, open_image, pil_to_tensor, resize_longest
from metastyle.meta import MetaConfig, Task, meta_loss
from metastyle.losses import PerceptualLoss
from metastyle.transformer import TransformerNet
from metastyle.timing import median_seconds
from metastyle.vgg import VGG19


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    vgg, model = VGG19().to(device), TransformerNet().to(device)
    photos = ImageSampler([p.path for p in builtin_photos()], 256)
    paintings = ImageSampler([p.path for p in builtin_paintings()[:8]], 256, augment=False)
    gen = torch.Generator().manual_seed(0)
    results = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"{platform.machine()} CPU, {torch.get_num_threads()} threads",
               "torch": torch.__version__}

    for first_order in (False, True):
        config = replace(MetaConfig(), first_order=first_order)
        tasks = [Task(PerceptualLoss(vgg, paintings.sample(1, gen).to(device)), photos.sample(4, gen).to(device), photos.sample(4, gen).to(device)) for _ in range(4)]

        def iteration() -> None:
            model.zero_grad(set_to_none=True)
            meta_loss(model, tasks, config, config.inner_lr, scale=4).backward()

        key = "meta_iteration_first_order_s" if first_order else "meta_iteration_second_order_s"
        results[key] = round(median_seconds(iteration, args.repeats, device), 4)
        print(key, results[key], flush=True)

    style = load_image(builtin_paintings()[0].path, 512).to(device)
    steps = 3  # per timed run: one Adam step's cost, median of the runs
    adapt = lambda: adapt_network(model, style, photos, replace(AdaptConfig(), steps=steps), vgg=vgg)  # noqa: E731
    results["adapt_step_s"] = round(median_seconds(adapt, args.repeats, device) / steps, 4)
    print("adapt_step_s", results["adapt_step_s"], flush=True)

    model.eval()
    photo = open_image([p.path for p in builtin_photos() if p.name == "astronaut"][0])
    for size in (256, 512, 1024):
        x = pil_to_tensor(resize_longest(photo, size)).to(device)
        with torch.inference_mode():
            results[f"stylize_{size}_s"] = round(median_seconds(lambda: model(x), args.repeats, device), 4)
        print(f"stylize_{size}_s", results[f"stylize_{size}_s"], flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
