"""Johnson et al.'s random start on windows of the photo at other Adam settings than the reference's
(1e-3, momentum 0.9): which are its best there, so that "worth N times the steps" is read against
Johnson at its best? Three held-out paintings x two photos, 25 to 100 steps, the default objective
on windows (`adapt.WINDOW_LOSS`). Each argument is one run: a rate, or `beta1=` a momentum (at the
random start's own rate). The best rate measured, 5e-4, is now that own rate on windows
(`start.RANDOM_START_WINDOW_RATES`), which the held-out bench uses; the JSON's `beta1` rows ran at 1e-3.

    python benchmarks/johnson_rate.py benchmarks/photo_windows/johnson_rate.json 2e-3 5e-4 beta1=0.7 2.5e-4
    python benchmarks/johnson_rate.py benchmarks/photo_windows/johnson_sections.json lr=5e-4,in_lr=1e-2
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from metastyle.bench import BenchConfig, run_bench

PAINTINGS = ("wheat-field-with-cypresses", "shiva-and-parvati-playing-chaupar-folio", "old-trees-level-distance")


def main(output: Path, runs: list[dict[str, float]]) -> None:
    rows = json.loads(output.read_text())["rows"] if output.is_file() else []  # runs add to a file's rows
    for overrides in runs:
        config = BenchConfig(styles=PAINTINGS, photos=("chelsea", "coffee"), steps=(25, 50, 100), timing_sizes=(),
                             methods=("Johnson",), adapt_overrides=overrides)
        rows += [{**r, **overrides} for r in run_bench(config, torch.device("cpu"))["rows"] if r["method"] == "Johnson"]
        output.write_text(json.dumps({"threads": torch.get_num_threads(), "rows": rows}, indent=1))
        print(overrides, "done", flush=True)


def parsed(run: str) -> dict[str, float]:
    """"5e-4" is a rate; "beta1=0.7" a momentum; "lr=5e-4,in_lr=1e-2" a rate by section (`AdaptConfig`'s names)."""
    return {key or "lr": float(value) for key, _, value in (part.rpartition("=") for part in run.split(","))}


if __name__ == "__main__":
    main(Path(sys.argv[1]), [parsed(r) for r in sys.argv[2:]])
