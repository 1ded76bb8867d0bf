"""Stylisation speed with torch.compile: is it worth wiring into `stylize` and `video`?

The shipped network on a real photo (chelsea, squared) at each size, eager and compiled, in fp32
and under bf16 autocast, inside inference mode. Reports the one-off compile time (each new image
size and precision compiles again) and the median of the timed runs after two warm-up calls.

Run by hand:  .venv/bin/python benchmarks/compile_speed.py [--sizes 256,512] [--device cuda] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time

import torch

from metastyle.start import load_start
from metastyle.timing import median_seconds
from metastyle.data import resolve_image
from metastyle.images import load_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json")
    args = parser.parse_args()
    device = torch.device(args.device)
    network = load_start().network.to(device).eval()
    # dynamic=False: one static graph per size. With dynamic shapes (what torch.compile switches to
    # at the second size) inductor 2.13 fails on the CPU on the padding arithmetic in
    # TransformerNet.forward ("TensorReferenceAnalysis has no attribute python_mod").
    compiled = torch.compile(network, dynamic=False)
    results: dict[str, dict[str, float]] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        photo = load_image(resolve_image("builtin:chelsea"), size).to(device)
        photo = torch.nn.functional.interpolate(photo, size=(size, size), mode="bilinear", antialias=True)
        for precision in ("fp32", "bf16"):
            autocast = torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
            with torch.inference_mode(), autocast:
                network(photo)
                eager = median_seconds(lambda: network(photo), 5, device)  # after its own warm-up call
                tick = time.perf_counter()
                compiled(photo)
                compile_seconds = time.perf_counter() - tick
                fast = median_seconds(lambda: compiled(photo), 5, device)
                difference = (compiled(photo).float() - network(photo).float()).abs().max().item()
            results[f"{size} {precision}"] = {"eager": eager, "compiled": fast, "compile_seconds": compile_seconds,
                                              "max_difference": difference}
            print(f"{size} px {precision}: eager {eager:.3f} s, compiled {fast:.3f} s ({eager / fast:.2f}x), "
                  f"compiling {compile_seconds:.1f} s, largest difference {difference:.1e}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": str(device), "threads": torch.get_num_threads(), "torch": torch.__version__,
                       "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
