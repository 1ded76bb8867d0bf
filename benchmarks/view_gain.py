"""The style predictor's gain (`StylePredictor.gain`): how far to scale the offsets it predicts for a
painting's start, where the predictions of the painting's covering views are averaged.

Trained on one view at a time, the predictor hedges towards the mean where a view leaves the painting
uncertain; the mean of several views' predictions hedges less than that requires. The gain is chosen
on training paintings (adapt_lrs.py's seeded choice) and the seeded test photos of
../shared/data/photos, by the objective that meta-training and adaptation minimise (`score`'s losses
at 256 px with adaptation's content weight, its balance and its style layer weights, or
`--content-balance`'s and `--style-layer-weights`' for a start trained on others), so that the
held-out bench stays out of the choice.

    python benchmarks/view_gain.py --init runs/small-stage8/model.safetensors --write src/metastyle/weights/metastyle-small.safetensors
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from adapt_lrs import evaluation_photos, training_paintings
from start_gap import losses

from metastyle.adapt import ADAPT_LOSS
from metastyle.losses import LossConfig
from metastyle.models import read_info, save_model
from metastyle.options import comma_separated
from metastyle.start import load_start
from metastyle.vgg import VGG19


def objective(row: dict[str, float]) -> float:
    """What the start is trained for: the content and style terms of `objective_loss`, summed."""
    return row["content_loss"] + row["style_loss"]


def objective_loss(style_layer_weights: tuple[float, ...], content_balance: float) -> LossConfig:
    """Adaptation's loss (content 80, following the painting's loudness as `content_balance` asks)
    with these style layer weights. With a balance the weight differs by painting, so the terms are
    weighed per pair, before the mean."""
    return replace(ADAPT_LOSS, style_layer_weights=style_layer_weights, content_balance=content_balance)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init", required=True, help="model file with a style predictor")
    parser.add_argument("--gains", default="1,1.1,1.2,1.3,1.4")
    parser.add_argument("--paintings", type=int, default=12)
    parser.add_argument("--photos", type=int, default=2)
    parser.add_argument("--write", type=Path, help="write the model here with the best gain (and the scan in its metadata)")
    parser.add_argument("-o", "--output", type=Path, help="the scan as JSON")
    parser.add_argument("--style-layer-weights", type=comma_separated(float, "numbers"), default=ADAPT_LOSS.style_layer_weights,
                        help="the style layers' weights of the objective (default: adaptation's)")
    parser.add_argument("--content-balance", type=float, default=ADAPT_LOSS.content_balance,
                        help="the objective's content balance (default: adaptation's; 0 for the starts up to stage 12, trained at a fixed weight)")
    args = parser.parse_args()
    loss = objective_loss(args.style_layer_weights, args.content_balance)
    vgg, start = VGG19(), load_start(args.init)
    paintings, photos = training_paintings(args.paintings), evaluation_photos(args.photos)
    scan = {}
    for gain in (float(g) for g in args.gains.split(",")):
        start.predictor.gain.fill_(gain)
        scan[gain] = losses(start, paintings, photos, vgg, predicted=True, loss=loss)
        print(f"gain {gain:g}: content term {scan[gain]['content_loss']:.4g}, style {scan[gain]['style_loss']:.4g}, "
              f"objective {objective(scan[gain]):.4g}", flush=True)
    best = min(scan, key=lambda g: objective(scan[g]))
    print(f"best gain {best:g}")
    report = {"init": args.init, "style_layer_weights": args.style_layer_weights, "content_weight": loss.content_weight,
              "content_balance": loss.content_balance, "paintings": args.paintings,
              "photos": [p.stem for p in photos], "best": best, "scan": {str(g): row for g, row in scan.items()}}
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=1) + "\n")
    if args.write:
        start.predictor.gain.fill_(best)
        info = {**read_info(args.init), "view_gain": {"gain": best, "chosen_by": "benchmarks/view_gain.py",
                                                       "objective": {str(g): objective(r) for g, r in scan.items()},
                                                       "style_layer_weights": args.style_layer_weights,
                                                       "content_balance": args.content_balance}}
        save_model(start.network, args.write, info, half=True, predictor=start.predictor)
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
