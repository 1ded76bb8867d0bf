"""Which Adam settings make the CPU's 25 adaptation steps count, chosen on training paintings only.

From the shipped small start, the CPU budget (25 steps of 2 crops of 128 px, painting at 256 px)
with different Adam learning rates for the InstanceNorm parameters and for the other weights.
Scored (`score` metric at 256 px) on paintings the model trained on and on photos that neither
training nor the held-out bench uses (the seeded test split of ../shared/data/photos), so
that the held-out bench stays an unbiased measure of whatever is chosen here.

    python benchmarks/adapt_lrs.py --paintings 6 --photos 2 -o benchmarks/adapt_lrs.json
    python benchmarks/adapt_lrs.py --paintings 3 --only "200 steps, lr 1e-3" "200 steps, lr 1e-4, in 1e-2" -o benchmarks/adapt_lrs_200.json
    python benchmarks/adapt_lrs.py --recolour --paintings 8 --photos 3 -o benchmarks/crops/rates-12.json \
        --only "1x256, 12 steps, lr 1e-4, in 1e-2" "1x256, 12 steps, lr 2e-4, in 2e-2" ...   # crops' rates now (10, 12, 25 steps)
    python benchmarks/adapt_lrs.py --recolour --paintings 8 --photos 3 -o benchmarks/code/standin-style-10.json \
        --only "1x256, 10 steps, lr 1e-4, in 1e-2, code 0.25" "1x256, 10 steps, lr 1e-4, in 1e-2, code 0.5" ...   # the style code's rate

(Candidates take only the settings they name: those that name no code rate step none.)
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image

from metastyle.adapt import CPU_ADAPT, AdaptConfig, adapt_network
from metastyle.bench import SCORED
from metastyle.data import list_images, training_builtins
from metastyle.images import load_image
from metastyle.inference import Stylizer
from metastyle.metrics import score_tensors
from metastyle.sampling import ImageSampler, split_holdout
from metastyle.start import SMALL_MODEL, Start, load_start
from metastyle.vgg import VGG19

PHOTOS = Path(__file__).resolve().parents[2] / "shared/data/photos"
# The budget these rates were chosen for: the CPU default of the time (adapt.CPU_ADAPT is now 12 steps of 1x256).
BUDGET = replace(CPU_ADAPT, steps=25, size=128, batch=2)
REFERENCE = "reference: lr 1e-3"
CANDIDATES = {  # name: AdaptConfig overrides. benchmarks/adapt_lrs.json also keeps the rows of a
    # linear warm-up of the rates, measured and since removed (RESULTS.md)
    REFERENCE: {"lr": 1e-3},
    "in 1e-2": {"lr": 1e-3, "in_lr": 1e-2},
    "in 3e-2": {"lr": 1e-3, "in_lr": 3e-2},
    "lr 5e-4": {"lr": 5e-4},
    "lr 5e-4, in 1e-2": {"lr": 5e-4, "in_lr": 1e-2},
    "lr 5e-4, in 3e-2": {"lr": 5e-4, "in_lr": 3e-2},
    "lr 2.5e-4, in 5e-3": {"lr": 2.5e-4, "in_lr": 5e-3},
    "lr 2.5e-4, in 1e-2": {"lr": 2.5e-4, "in_lr": 1e-2},
    "lr 1e-4, in 1e-2": {"lr": 1e-4, "in_lr": 1e-2},
    "lr 1e-4, in 2e-2": {"lr": 1e-4, "in_lr": 2e-2},
    "lr 5e-5, in 1e-2": {"lr": 5e-5, "in_lr": 1e-2},
    "in only, 1e-2": {"params": "in", "in_lr": 1e-2},
    "in only, 2e-2": {"params": "in", "in_lr": 2e-2},
    # CUDA's budget in steps (at the CPU's crops): do the rates chosen for 25 steps still hold at 200?
    "200 steps, lr 1e-3": {"steps": 200, "lr": 1e-3},
    "200 steps, lr 1e-4, in 1e-2": {"steps": 200, "lr": 1e-4, "in_lr": 1e-2},
    # Crops' default now (one 256 px crop a step) at its 12 steps and the 8x target's 10 and 25: its rates
    # above were chosen at 2 crops of 128 px, on the paintings the predictor learnt, never on a stand-in
    **{f"1x256, {n} steps, {name}": {"steps": n, "size": 256, "batch": 1, **rates} for n in (10, 12, 25) for name, rates in {
        "lr 1e-4, in 1e-2": {"lr": 1e-4, "in_lr": 1e-2},
        "lr 2e-4, in 2e-2": {"lr": 2e-4, "in_lr": 2e-2},
        "lr 4e-4, in 2e-2": {"lr": 4e-4, "in_lr": 2e-2},
        "lr 8e-4, in 2e-2": {"lr": 8e-4, "in_lr": 2e-2},
        "lr 2e-4, in 4e-2": {"lr": 2e-4, "in_lr": 4e-2},
        "lr 4e-4, in 4e-2": {"lr": 4e-4, "in_lr": 4e-2},
        "lr 2e-4, in 2e-2, momentum 0.8": {"lr": 2e-4, "in_lr": 2e-2, "beta1": 0.8},
        "lr 4e-4, in 2e-2, momentum 0.8": {"lr": 4e-4, "in_lr": 2e-2, "beta1": 0.8},
        "windows' rates by section": {"lr": 4e-4, "in_lr": 2e-2, "residual_lr": 8e-4, "output_lr": 1e-4},
        # Adam on the style code beside the weights (code_steps.py)
        **{f"lr 1e-4, in 1e-2, code {code:g}": {"lr": 1e-4, "in_lr": 1e-2, "code_lr": code} for code in (0.25, 0.5, 1.0)},
    }.items()},
}


def training_paintings(count: int) -> list[Path]:
    """A seeded choice of `count` training paintings."""
    paintings = training_builtins("painting")
    return [paintings[i] for i in torch.randperm(len(paintings), generator=torch.Generator().manual_seed(7)).tolist()[:count]]


def recoloured(paintings: list[Path], folder: Path) -> list[Path]:
    """Each painting with its channels permuted (RGB to BRG), saved once in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for painting in paintings:
        if not (folder / f"{painting.stem}.png").is_file():
            r, g, b = Image.open(painting).convert("RGB").split()
            Image.merge("RGB", (b, r, g)).save(folder / f"{painting.stem}.png")
    return [folder / f"{p.stem}.png" for p in paintings]


def stand_in_paintings(args: argparse.Namespace) -> list[Path]:
    """`args.paintings` training paintings, recoloured with `--recolour`: the predictor learnt the
    training paintings by heart, and never saw their palettes permuted, as it never saw held-out ones."""
    paintings = training_paintings(args.paintings)
    return recoloured(paintings, Path("runs/recoloured")) if args.recolour else paintings


def evaluation_photos(count: int) -> list[Path]:
    """Photos from the seeded test split of ../shared/data/photos, which training never sees."""
    return split_holdout(list_images(PHOTOS), 0.1, 0)[1][:count]


def candidate_parser(doc: str, paintings: int, photos: int, output: str) -> argparse.ArgumentParser:
    """The options of a script that adapts candidates on training paintings (this one, crop_weights.py)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--init", default=str(SMALL_MODEL))
    parser.add_argument("--paintings", type=int, default=paintings)
    parser.add_argument("--photos", type=int, default=photos)
    parser.add_argument("--only", nargs="*", help="candidate names to run (default: all)")
    parser.add_argument("--recolour", action="store_true", help="permute the paintings' colour channels (RGB to BRG)")
    parser.add_argument("-o", "--output", type=Path, default=Path(output))
    return parser


def scored(photo: torch.Tensor, style: torch.Tensor, result: torch.Tensor, vgg: VGG19) -> dict[str, float]:
    """The `score` losses and their sum."""
    losses = score_tensors(photo, style, result, vgg)
    return {**losses, "total_loss": losses["content_loss"] + losses["style_loss"]}


def adapted_rows(name: str, config: AdaptConfig, paintings: list[Path], photos: list[Path], start: Start, vgg: VGG19,
                 content_photos: list[Path] | None = None) -> list[dict]:
    """One candidate's rows: each painting adapted once with `config` on `content_photos` (default
    adaptation's, the built-in training photos), then scored on every photo."""
    content, rows = ImageSampler(content_photos or training_builtins("photo"), config.size, augment=True), []
    for painting in paintings:
        style = load_image(painting, config.style_size)
        tick = time.perf_counter()
        network, _ = adapt_network(start.for_painting(painting, vgg), style, content, config, vgg, code_basis=start.code_basis)
        seconds, stylizer, scored_style = time.perf_counter() - tick, Stylizer(network, SCORED), load_image(painting, 256)
        for photo_path in photos:
            photo = load_image(photo_path, 256)
            rows.append({"candidate": name, "painting": painting.stem, "photo": photo_path.stem, "seconds": seconds,
                         **scored(photo, scored_style, stylizer(photo), vgg)})
        print(name, painting.stem, f"{rows[-1]['total_loss']:.3g}", flush=True)
    return rows


def run_candidates(args: argparse.Namespace, configs: dict[str, AdaptConfig], rows: list[dict], paintings: list[Path],
                   photos: list[Path], start: Start, vgg: VGG19, content: dict[str, list[Path]] | None = None) -> list[dict]:
    """`rows` with every candidate that `args.only` asks for and `rows` lacks; the file rewritten after each.
    `content`: a candidate's own photos for adaptation's crops, where it has them."""
    for name, config in configs.items():
        if (args.only and name not in args.only) or any(r["candidate"] == name for r in rows):
            continue
        rows = rows + adapted_rows(name, config, paintings, photos, start, vgg, (content or {}).get(name))
        args.output.write_text(json.dumps({"init": args.init, "threads": torch.get_num_threads(), "rows": rows}, indent=1))
    return rows


def main() -> None:
    args = candidate_parser(__doc__, 6, 2, "benchmarks/adapt_lrs.json").parse_args()
    paintings, photos = stand_in_paintings(args), evaluation_photos(args.photos)
    vgg, start = VGG19(), load_start(args.init)
    rows = json.loads(args.output.read_text())["rows"] if args.output.is_file() else []
    configs = {name: replace(BUDGET, **overrides) for name, overrides in CANDIDATES.items()}
    report(run_candidates(args, configs, rows, paintings, photos, start, vgg))


def report(rows: list[dict]) -> None:
    """Means, and the median ratio of each candidate's total to the first one's, pair by pair."""
    base = {(r["painting"], r["photo"]): r["total_loss"] for r in rows if r["candidate"] == rows[0]["candidate"]}
    print(f"| candidate | content | style | total | median total / {rows[0]['candidate']} | pairs lower |\n|---|---|---|---|---|---|")
    for name in dict.fromkeys(r["candidate"] for r in rows):
        mine = [r for r in rows if r["candidate"] == name]
        ratios = [r["total_loss"] / base[(r["painting"], r["photo"])] for r in mine if (r["painting"], r["photo"]) in base]
        means = [statistics.mean(r[k] for r in mine) for k in ("content_loss", "style_loss", "total_loss")]
        print(f"| {name} | {means[0]:.3g} | {means[1]:.3g} | {means[2]:.3g} | "
              f"{statistics.median(ratios) if ratios else float('nan'):.3f} | {sum(x < 1 for x in ratios)} of {len(ratios)} |")


if __name__ == "__main__":
    main()
