"""A meta-training objective on fixed training tasks, for model files: does training lower what it descends?

A run's logged objective is one new meta-batch per iteration, and its tasks differ by 10x, so its
curve says little. Here the same tasks (seeded draws of meta-training's own sampler, the training
paintings and photos) score every model file given, with the settings of a run's flags file
(`benchmarks/training/<run>.args`). Meta-training measured by hand in this way once found that its
objective had risen (RESULTS.md, "The score through the deployed steps").

    python benchmarks/meta_objective.py --args benchmarks/training/score-deployed.args --tasks 8 \
        src/metastyle/weights/metastyle-small.safetensors runs/score-deployed/model.safetensors
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from statistics import mean, median

import torch

from metastyle.cli import build_parser
from metastyle.meta import MetaConfig, MetaData, _networks, meta_loss
from metastyle.options import config_from
from metastyle.vgg import VGG19


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--args", type=Path, required=True, help="a run's flags file")
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--seed", type=int, default=12345, help="of the tasks' draw (meta-training's own seed is 0)")
    options = parser.parse_args()
    flags = shlex.split(" ".join(line for line in options.args.read_text().splitlines() if not line.startswith("#")))
    args = build_parser().parse_args(["meta-train", "-o", "unused", "--precision", "auto", *flags, "--meta-batch", "1"])
    config = config_from(args, MetaConfig())
    torch.manual_seed(0)
    vgg, device = VGG19(), torch.device("cpu")
    data = MetaData("builtin", ["builtin", "../shared/data/photos"], config)
    generator = torch.Generator().manual_seed(options.seed)
    tasks = [t for _ in range(options.tasks) for t in data.tasks(config, generator, vgg, device, slice(None))]
    first = None
    for path in options.models:
        model, predictor, _ = _networks(config, path, data, vgg, device)
        values = [meta_loss(model, [task], config, 0.0, 1, predictor).item() for task in tasks]
        first = first or values
        ratios = [v / f for v, f in zip(values, first)]
        print(f"{path}: mean {mean(values):.4g}, against the first file: median {median(ratios):.3f}x, "
              f"lower on {sum(r < 1 for r in ratios)} of {len(ratios)}  |", " ".join(f"{v:.3g}" for v in values), flush=True)


if __name__ == "__main__":
    main()
