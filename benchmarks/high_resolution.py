"""A 6000x4000 photo stylised in tiles: wall time and peak memory (resident set) on this machine.

The photo is the built-in astronaut scaled up to 6000x4000 (content does not change the cost).
Run by hand:  .venv/bin/python benchmarks/high_resolution.py [--device cuda] [--tile 1024]
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import torch
from PIL import Image

from metastyle.data import resolve_image
from metastyle.images import open_image, pil_to_tensor
from metastyle.pipeline import render
from metastyle.transformer import TransformerNet


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tile", type=int, default=1024)
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = TransformerNet().to(device).eval()
    photo = pil_to_tensor(open_image(resolve_image("builtin:astronaut")).resize((6000, 4000), Image.Resampling.BICUBIC)).to(device)
    start = time.perf_counter()
    out = render(model, photo, tile=args.tile)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    result = {"size": "6000x4000", "tile": args.tile, "device": str(device), "seconds": round(seconds, 1),
              "peak_rss_gib": round(peak_gib, 2), "finite": bool(torch.isfinite(out).all())}
    if device.type == "cuda":
        result["peak_cuda_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
