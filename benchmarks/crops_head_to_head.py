"""Our steps on crops of the built-in photos against Johnson et al.'s random start at its best rate, pair by pair.

`metastyle bench --content builtin --methods MetaStyle` gives ours; `johnson_rate.py --content builtin`
gives Johnson's random start at one or more rates (a file per run, a row per rate). For every
budget and pair, Johnson's row is the lowest total among the rates run, so that the target's reading
("at 25 steps lower than Johnson's 200 in 80% of pairs") is made against Johnson at its best on
each pair, not at one rate chosen in the median. Writes `bench.json` and `table.md` as the bench does.

    python benchmarks/crops_head_to_head.py benchmarks/crops/heldout200/ours.json \\
        benchmarks/crops/johnson200-*.json -o benchmarks/crops/heldout200
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from metastyle.bench import merge
from metastyle.report import markdown_table
from metastyle.start import load_start


def best_rows(files: list[Path]) -> tuple[list[dict[str, Any]], list[float]]:
    """Johnson's rows with, per (budget, painting, photo), the lowest total among the rates in `files`; the rates."""
    best: dict[tuple, dict[str, Any]] = {}
    rates: set[float] = set()
    for path in files:
        for row in json.loads(path.read_text())["rows"]:
            key = (row["steps"], row["style"], row["photo"])
            rates.add(row.get("lr", 0.0))
            if key not in best or row["total_loss"] < best[key]["total_loss"]:
                best[key] = row
    return list(best.values()), sorted(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ours", type=Path, help="the bench.json of `metastyle bench --content builtin --methods MetaStyle`")
    parser.add_argument("johnson", type=Path, nargs="+", help="johnson_rate.py's files")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    ours = json.loads(args.ours.read_text())
    rows, rates = best_rows(args.johnson)
    results = merge(ours, {"config": ours["config"], "rows": rows, "init": load_start("random").description})
    results["merged"][-1]["note"] = (f"Johnson et al.'s random start on crops of the built-in photos, per pair and budget the lowest "
                                     f"total of its rates {', '.join(f'{r:g}' for r in rates)} (benchmarks/johnson_rate.py)")
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.output / "table.md").write_text(markdown_table(results))
    print(markdown_table(results))


if __name__ == "__main__":
    main()
