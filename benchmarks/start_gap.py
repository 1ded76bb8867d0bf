"""How well the style predictor's start generalises: its own loss (no adaptation step) on paintings it
trained on against held-out ones, beside the start it predicts for the mean statistics.

A predictor that learned its 149 paintings by heart does much better on them than on new ones,
while the mean-statistics start (the same for every painting) shows how much harder the held-out
paintings are by themselves. Photos: the seeded test split of ../shared/data/photos, which neither
training nor the held-out bench uses. Training paintings: adapt_lrs.py's seeded choice.

    python benchmarks/start_gap.py --init small -o benchmarks/start_gap/shipped.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from adapt_lrs import evaluation_photos, training_paintings

from metastyle.bench import SCORED
from metastyle.data import HELDOUT_PAINTINGS, resolve_image
from metastyle.images import load_image
from metastyle.inference import Stylizer
from metastyle.losses import LossConfig
from metastyle.metrics import score_tensors
from metastyle.predictor import conditioned_network
from metastyle.start import Start, load_start
from metastyle.transformer import TransformerNet
from metastyle.vgg import VGG19


def mean_start(start: Start) -> TransformerNet:
    """The start predicted for the mean of the training paintings' statistics: one network for every painting."""
    return conditioned_network(start.network, start.predictor, start.predictor.center[None])


def losses(start: Start, paintings: list[Path], photos: list[Path], vgg: VGG19, predicted: bool,
           loss: LossConfig = LossConfig()) -> dict[str, float]:
    """Mean content and style loss (`score` at 256 px, or `loss`'s weights) of the start on every painting x photo."""
    rows = []
    shared = None if predicted else Stylizer(mean_start(start), SCORED)
    for painting in paintings:
        stylizer = shared if shared is not None else Stylizer(start.for_painting(painting, vgg), SCORED)
        style = load_image(painting, 256)
        for photo_path in photos:
            photo = load_image(photo_path, 256)
            rows.append(score_tensors(photo, style, stylizer(photo), vgg, loss))
    return {k: statistics.fmean(r[k] for r in rows) for k in ("content_loss", "style_loss")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init", default="small")
    parser.add_argument("--paintings", type=int, default=12)
    parser.add_argument("--photos", type=int, default=2)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    vgg, start, photos = VGG19(), load_start(args.init), evaluation_photos(args.photos)
    sets = {"training": training_paintings(args.paintings),
            "held-out": [resolve_image(f"builtin:{name}") for name in HELDOUT_PAINTINGS[: args.paintings]]}
    results = {f"{name}, {kind}": losses(start, paintings, photos, vgg, kind == "predicted")
               for kind in ("predicted", "mean statistics") for name, paintings in sets.items()}
    for name, row in results.items():
        print(f"{name}: content {row['content_loss']:.3g}, style {row['style_loss']:.3g}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"init": args.init, "paintings": args.paintings, "photos": [p.stem for p in photos],
                                       "results": results}, indent=1))


if __name__ == "__main__":
    main()
