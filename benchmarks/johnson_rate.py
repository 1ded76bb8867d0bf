"""Johnson et al.'s random start on windows of the photo at other Adam settings than the reference's
(1e-3, momentum 0.9): which are its best there, so that "worth N times the steps" is read against
Johnson at its best? Three held-out paintings x two photos, 25 to 100 steps, the default objective
on windows (`adapt.WINDOW_LOSS`). Each argument is one run: a rate, or `beta1=` a momentum (at the
random start's own rate). The best rate measured, 5e-4, is now that own rate on windows
(`start.RANDOM_START_WINDOW_RATES`), which the held-out bench uses; the JSON's `beta1` rows ran at 1e-3.

    python benchmarks/johnson_rate.py benchmarks/photo_windows/johnson_rate.json 2e-3 5e-4 beta1=0.7 2.5e-4
    python benchmarks/johnson_rate.py benchmarks/photo_windows/johnson_sections.json lr=5e-4,in_lr=1e-2

On crops of the built-in photos (`--content builtin`, where random starts keep 1e-3: `train-style`),
at the long budgets a per-style network trains for:

    python benchmarks/johnson_rate.py benchmarks/crops/johnson_long.json 1e-3 5e-4 --content builtin \
        --steps 100,200,400,800 --paintings 2 --photos chelsea astronaut coffee

All 25 held-out paintings, split over two processes of one thread (`--skip` the first N), and the
same at 1e-3 into `johnson200-1e-3-a.json` and `-b.json` (`crops_head_to_head.py` reads them against ours):

    python benchmarks/johnson_rate.py benchmarks/crops/johnson200-a.json 5e-4 --content builtin \
        --steps 10,25,50,100,200 --paintings 13 --photos chelsea astronaut coffee
    python benchmarks/johnson_rate.py benchmarks/crops/johnson200-b.json 5e-4 --content builtin \
        --steps 10,25,50,100,200 --skip 13 --paintings 12 --photos chelsea astronaut coffee

At a quarter of the content weight, the baseline's answer to steps on the style code (code_steps.py), which follow
the style term alone:

    python benchmarks/johnson_rate.py benchmarks/code/johnson-cw20.json 5e-4 --content builtin --content-weight 20 \
        --steps 100,200 --paintings 4 --photos chelsea astronaut coffee
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import torch

from metastyle.adapt import default_loss
from metastyle.bench import BenchConfig, run_bench
from metastyle.data import HELDOUT_PAINTINGS


def main(output: Path, runs: list[dict[str, float]], content: str, steps: tuple[int, ...], paintings: tuple[str, ...], photos: tuple[str, ...],
         content_weight: float | None = None) -> None:
    rows = json.loads(output.read_text())["rows"] if output.is_file() else []  # runs add to a file's rows
    for overrides in runs:
        settings = dict(overrides)
        if content_weight is not None:  # recorded in the rows, as the rates are
            overrides = {**overrides, "content_weight": content_weight}
            settings["loss"] = replace(default_loss(content == "photo"), content_weight=content_weight)
        for painting in paintings:  # one at a time, written as it ends: a stopped run keeps what it measured
            config = BenchConfig(styles=(painting,), photos=photos, steps=steps, timing_sizes=(), methods=("Johnson",),
                                 adapt_overrides=settings, content=content)
            rows += [{**r, **overrides} for r in run_bench(config, torch.device("cpu"))["rows"] if r["method"] == "Johnson"]
            output.write_text(json.dumps({"threads": torch.get_num_threads(), "rows": rows}, indent=1))
            print(overrides, painting, "done", flush=True)


def parsed(run: str) -> dict[str, float]:
    """"5e-4" is a rate; "beta1=0.7" a momentum; "lr=5e-4,in_lr=1e-2" a rate by section (`AdaptConfig`'s names)."""
    return {key or "lr": float(value) for key, _, value in (part.rpartition("=") for part in run.split(","))}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("runs", nargs="+", type=parsed, help="a rate, beta1=MOMENTUM, or rates by section")
    parser.add_argument("--content", default="photo", choices=("photo", "builtin"))
    parser.add_argument("--steps", default="25,50,100", type=lambda s: tuple(int(n) for n in s.split(",")))
    parser.add_argument("--paintings", type=int, default=3, help="the first N held-out paintings")
    parser.add_argument("--skip", type=int, default=0, help="after the first SKIP held-out paintings (to split a run across processes)")
    parser.add_argument("--photos", nargs="+", default=("chelsea", "coffee"))
    parser.add_argument("--content-weight", type=float, help="adaptation's content weight (default: the default loss's, 80 on crops, 60 on windows)")
    args = parser.parse_args()
    main(args.output, args.runs, args.content, args.steps, HELDOUT_PAINTINGS[args.skip : args.skip + args.paintings], tuple(args.photos),
         args.content_weight)
