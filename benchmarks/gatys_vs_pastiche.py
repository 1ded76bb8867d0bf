"""Gatys et al. at 256 px, 300 L-BFGS steps: metastyle against pastiche 1.6.0's own implementation.

Both optimise the same objective (content relu4_2; style relu1_1..relu5_1 with Gram matrices;
pastiche's weights 0.01 and 10 per layer are ours, content 1 and style 1e3, up to one common
factor), from the content image, with L-BFGS taking one evaluation per step, on the same
content and style at the same sizes. Timed: the optimisation loop only (both load VGG-19 and
compute their targets first). Quality: both results scored with `metastyle score`.

Run by hand:  .venv/bin/python benchmarks/gatys_vs_pastiche.py [--steps 300] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from metastyle.optimize import GatysConfig, gatys
from metastyle.data import resolve_image
from metastyle.images import load_image, save_image
from metastyle.metrics import score
from metastyle.vgg import VGG19

PAIRS = (("builtin:chelsea", "builtin:wheat-field-with-cypresses"), ("builtin:astronaut", "builtin:whalers"))


def time_pastiche(content: Path, style: Path, size: int, steps: int, out: Path) -> float:
    from pastiche.pastiche import PasticheArtist, save_image as pastiche_save

    torch.manual_seed(0)
    artist = PasticheArtist(str(content), [str(style)], device="cpu", size=size, style_size=size)
    start = time.perf_counter()
    for _ in range(steps):
        artist.draw()
    elapsed = time.perf_counter() - start
    pastiche_save(artist.pastiche, str(out))
    return elapsed


def time_ours(content: Path, style: Path, size: int, steps: int, precision: str, out: Path, vgg: VGG19) -> float:
    c, s = load_image(content, size), load_image(style, size)
    start = time.perf_counter()
    result, _ = gatys(c, s, GatysConfig(steps=steps, precision=precision), vgg=vgg)
    elapsed = time.perf_counter() - start
    save_image(result, out)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", type=Path, default=Path(__file__).with_name("gatys_vs_pastiche.json"))
    args = parser.parse_args()
    vgg = VGG19()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for content_spec, style_spec in PAIRS:
            content, style = resolve_image(content_spec), resolve_image(style_spec)
            runs = {
                "pastiche 1.6.0": lambda out: time_pastiche(content, style, args.size, args.steps, out),
                "metastyle fp32": lambda out: time_ours(content, style, args.size, args.steps, "fp32", out, vgg),
                "metastyle bf16": lambda out: time_ours(content, style, args.size, args.steps, "bf16", out, vgg),
            }
            for method, run in runs.items():
                out = Path(tmp) / f"{method.replace(' ', '_')}.png"
                seconds = min(run(out) for _ in range(args.repeats))
                losses = score(content, style, out, size=args.size, vgg=vgg)
                row = {"pair": f"{content_spec} / {style_spec}", "method": method, "seconds": round(seconds, 2),
                       "seconds_per_step": round(seconds / args.steps, 4), **{k: round(v, 1) for k, v in losses.items()}}
                rows.append(row)
                print(json.dumps(row), flush=True)
    report = {"machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
              "torch": torch.__version__, "steps": args.steps, "size": args.size, "rows": rows}
    args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
