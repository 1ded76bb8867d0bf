"""Meta-training, the paper's Algorithm 1: learn one initialisation that adapts fast to any style.

Each outer iteration samples a meta-batch of styles. For each style the inner loop takes k
differentiable SGD steps on a batch of training content (by default on the InstanceNorm affine
parameters only, as the reference code does), and the adapted "fast weights" are scored on a
batch of held-out validation content. The outer gradient of that validation loss with respect to
all parameters (second order through the inner steps, or first order) is averaged over the
meta-batch and applied with Adam.

Distributed: under torchrun every process draws the same meta-batch from the same seeded
generator and computes its share of the styles; the gradients are summed with an all-reduce
(gloo on CPU, NCCL on CUDA). DDP's module wrapper cannot be used here: its hooks do not support
the double backward of the second-order meta-gradient.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.func import functional_call

from .data import ImageSampler, list_images, split_holdout, training_builtins
from .device import autocast
from .errors import MetastyleError
from .files import atomic_path
from .images import load_image
from .losses import LossConfig, PerceptualLoss, content_loss
from .models import save_model
from .transformer import TransformerNet, in_parameter_names
from .vgg import VGG19


@dataclass(frozen=True)
class MetaConfig:
    """Defaults are the reference code's, except `inner_lr` (see below)."""

    iters: int = 100_000
    size: int = 256
    style_size: int = 256  # longer side of the paintings (the reference resizes them to 256)
    meta_batch: int = 4
    batch: int = 4
    inner_steps: int = 1
    inner_params: str = "in"  # "in": InstanceNorm affine only (reference); "all"
    # The reference's 1e-5 is relative to its loss scale. With our Caffe-scale VGG-19 losses, on
    # real paintings and photos at 256 px, the gradient on a fresh network's InstanceNorm
    # parameters has norm 1.2e7-2.9e7 while the parameters have norm 40: 5e-8 moves them by
    # 1.5-3.5% in one step (measured), the "few percent" that the reference's rate gives there.
    inner_lr: float = 5e-8
    # Not in the reference: with `normalized_inner` each inner step is inner_lr * g / ||g|| (over
    # the adapted parameters), a step of fixed length. Plain SGD steps grow with the gradient, and
    # meta-training learns to exploit that: measured on our shipped run, it made the initialisation
    # itself worse (loss 1e9, saturated output) and its gradients 12-30x larger, so that one inner
    # step moved the InstanceNorm parameters by 50-120%. Test-time Adam, whose steps do not grow
    # with the gradient, cannot follow such an initialisation.
    normalized_inner: bool = False
    # Not in the reference: the outer objective adds `init_weight` times the validation loss of the
    # initialisation itself. Algorithm 1 only scores the weights after the inner step, so nothing
    # stops the initialisation's own output from drifting to saturated colour (measured: it did, in
    # both of our runs without this term), and test-time adaptation, with other steps than the
    # inner loop's, then starts from there.
    init_weight: float = 0.0
    outer_lr: float = 1e-5
    lr_decay: float = 2.5e-5  # lr_t = lr / (1 + t * lr_decay), inner and outer alike
    first_order: bool = False
    # Not in the reference: the first `warmup` iterations train the network to reproduce its
    # content (content loss alone), so that meta-training starts from a network that keeps the
    # photo rather than from noise, which a small data set and a short run cannot recover from.
    warmup: int = 0
    warmup_lr: float = 1e-3  # Adam's rate during the warm-up (decayed like outer_lr)
    precision: str = "fp32"  # "bf16": autocast, 1.7x faster on AVX512-BF16 CPUs (Grams stay fp32)
    val_fraction: float = 0.1
    test_fraction: float = 0.1  # of each content folder, never used in training: the evaluation photos
    seed: int = 0
    checkpoint_every: int = 100
    loss: LossConfig = field(default_factory=LossConfig)


@dataclass
class Task:
    """One style of the meta-batch: its loss, a training batch and a validation batch."""

    loss: PerceptualLoss
    train: torch.Tensor
    val: torch.Tensor


def meta_loss(model: TransformerNet, tasks: list[Task], config: MetaConfig, inner_lr: float, scale: int) -> torch.Tensor:
    """Algorithm 1's outer objective: validation loss of the inner-loop-adapted weights, summed / scale."""
    params = dict(model.named_parameters())
    inner_names = in_parameter_names(model) if config.inner_params == "in" else list(params)
    total = torch.zeros((), device=next(model.parameters()).device)
    for task in tasks:
        fast = params
        train_targets = task.loss.content_targets(task.train)
        for _ in range(config.inner_steps):  # inner loop: k differentiable update steps
            inner = task.loss(functional_call(model, fast, (task.train,)), train_targets).total
            grads = torch.autograd.grad(inner, [fast[n] for n in inner_names], create_graph=not config.first_order)
            rate = inner_lr / torch.sqrt(sum((g * g).sum() for g in grads)) if config.normalized_inner else inner_lr
            fast = {**fast, **{n: fast[n] - rate * g for n, g in zip(inner_names, grads)}}
        val_targets = task.loss.content_targets(task.val)
        total = total + task.loss(functional_call(model, fast, (task.val,)), val_targets).total
        if config.init_weight:
            total = total + config.init_weight * task.loss(model(task.val), val_targets).total
    return total / scale


class MetaData:
    """Styles and the train/validation content split, sampled reproducibly from one generator.

    Sources are folders or "builtin": the built-in paintings or photos less the held-out ones.
    Each content folder first loses a seeded `test_fraction` that training never sees.
    """

    def __init__(self, style_sources: Source, content_sources: Source, config: MetaConfig):
        self.style_paths = _paths(style_sources, "painting", 0.0, config.seed)
        self.style_size = config.style_size
        train, val = split_holdout(_paths(content_sources, "photo", config.test_fraction, config.seed), config.val_fraction, config.seed)
        self.train = ImageSampler(train, config.size, augment=True)
        self.val = ImageSampler(val, config.size, augment=False)
        self._losses: dict[int, PerceptualLoss] = {}  # each painting's Gram targets, computed once

    def style_loss(self, index: int, vgg: VGG19, device: torch.device, config: MetaConfig) -> PerceptualLoss:
        if index not in self._losses:
            self._losses[index] = PerceptualLoss(vgg, load_image(self.style_paths[index], self.style_size).to(device), config.loss)
        return self._losses[index]

    def tasks(self, config: MetaConfig, generator: torch.Generator, vgg: VGG19, device: torch.device, share: slice) -> list[Task]:
        # Every process draws the whole meta-batch, so generators stay in step; each keeps its share.
        draws = [
            (int(torch.randint(len(self.style_paths), (), generator=generator)), self.train.sample(config.batch, generator),
             self.val.sample(config.batch, generator))
            for _ in range(config.meta_batch)
        ]
        return [Task(self.style_loss(s, vgg, device, config), t.to(device), v.to(device)) for s, t, v in draws[share]]


Source = str | os.PathLike | list[str | os.PathLike]


def _paths(sources: Source, kind: str, test_fraction: float, seed: int) -> list[Path]:
    paths: list[Path] = []
    for source in sources if isinstance(sources, list) else [sources]:
        if str(source) == "builtin":
            paths += training_builtins(kind)
        elif test_fraction > 0:
            paths += split_holdout(list_images(source), test_fraction, seed)[0]
        else:
            paths += list_images(source)
    return paths


def warmup_loss(model: TransformerNet, images: torch.Tensor, vgg: VGG19, config: LossConfig) -> torch.Tensor:
    """The warm-up objective: reproduce the photo, as the content loss sees it (unweighted, so that
    runs that differ only in their loss weights share the warm-up)."""
    with torch.no_grad():
        targets = vgg(images, config.content_layers)
    return content_loss(vgg(model(images), config.content_layers), targets)


def _distributed() -> tuple[int, int]:
    """(rank, world size), initialising the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def _checkpoint(run_dir: Path, model: TransformerNet, optimizer: torch.optim.Optimizer, generator: torch.Generator, it: int, config: MetaConfig) -> None:
    state = {"iteration": it, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "generator": generator.get_state(), "config": _config_dict(config)}
    with atomic_path(run_dir / "checkpoint.pt") as tmp:
        torch.save(state, tmp)


def _truncate_log(path: Path, iteration: int) -> None:
    """Drop log lines past the checkpoint, which an interrupted run wrote and a resumed run redoes."""
    if path.exists():
        lines = [line for line in path.read_text().splitlines() if json.loads(line)["iteration"] <= iteration]
        with atomic_path(path) as tmp:
            tmp.write_text("".join(line + "\n" for line in lines))


def _final_losses(path: Path, last: int = 100) -> dict[str, float]:
    """Means of each logged loss over its last `last` iterations (single ones are noisy: one style each)."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    names = sorted({k for row in rows for k in row if k.endswith("_loss")})
    tails = {name: [row[name] for row in rows if name in row][-last:] for name in names}
    return {f"{name} (mean of last {len(values)})": sum(values) / len(values) for name, values in tails.items()}


def _tensorboard(run_dir: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # TensorBoard is optional; metrics.jsonl always has the numbers
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))


def _config_dict(config: MetaConfig) -> dict[str, Any]:
    return {k: v for k, v in asdict(config).items() if k not in ("iters", "checkpoint_every")}


def meta_train(
    style_dir: Source,
    content_dir: Source,
    run_dir: str | os.PathLike,
    config: MetaConfig = MetaConfig(),
    device: torch.device = torch.device("cpu"),
    resume: bool = False,
    on_iteration: Callable[[int, dict[str, float]], None] | None = None,
    half: bool = False,
) -> TransformerNet:
    """Meta-train into `run_dir` (checkpoint.pt, metrics.jsonl, model.safetensors, fp16 when `half`); returns the model."""
    if config.inner_params not in ("in", "all"):
        raise MetastyleError(f"inner params must be 'in' or 'all', got {config.inner_params!r}")
    rank, world = _distributed()
    if config.meta_batch % world:
        raise MetastyleError(f"the meta-batch ({config.meta_batch}) must divide evenly among {world} processes")
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    run_dir = Path(run_dir)
    checkpoint = run_dir / "checkpoint.pt"
    if not resume and checkpoint.exists():
        raise MetastyleError(f"{run_dir} already holds a run; pass --resume to continue it, or choose another folder")
    run_dir.mkdir(parents=True, exist_ok=True)

    data = MetaData(style_dir, content_dir, config)
    with torch.random.fork_rng(devices=[]):  # a seeded initialisation, global RNG untouched
        torch.manual_seed(config.seed)
        model = TransformerNet().to(device)
    vgg = VGG19().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.outer_lr)
    generator = torch.Generator().manual_seed(config.seed)
    start = 0
    if resume and checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=True)
        changed = sorted(k for k, v in _config_dict(config).items() if state["config"].get(k) != v)
        if changed:
            raise MetastyleError(f"{checkpoint}: was made with other settings ({', '.join(changed)}); resume with the same ones")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        start = state["iteration"]
        if rank == 0:
            _truncate_log(run_dir / "metrics.jsonl", start)
    precision = autocast(device, config.precision)
    per_rank = config.meta_batch // world
    share = slice(rank * per_rank, (rank + 1) * per_rank)
    log = open(run_dir / "metrics.jsonl", "a") if rank == 0 else None
    board = _tensorboard(run_dir) if rank == 0 else None
    try:
        for it in range(start, config.iters):
            tick = time.perf_counter()
            decay = 1.0 / (1.0 + it * config.lr_decay)
            for group in optimizer.param_groups:
                group["lr"] = (config.warmup_lr if it < config.warmup else config.outer_lr) * decay
            optimizer.zero_grad(set_to_none=True)
            with precision:
                if it < config.warmup:
                    images = data.train.sample(config.meta_batch * config.batch, generator)
                    mine = images[share.start * config.batch : share.stop * config.batch].to(device)
                    loss = warmup_loss(model, mine, vgg, config.loss) / world
                else:
                    tasks = data.tasks(config, generator, vgg, device, share)
                    loss = meta_loss(model, tasks, config, config.inner_lr * decay, scale=config.meta_batch)
            loss.backward()
            loss = loss.detach()
            if world > 1:
                for p in model.parameters():
                    dist.all_reduce(p.grad)
                dist.all_reduce(loss)
            optimizer.step()
            phase = "warmup_loss" if it < config.warmup else "val_loss"
            metrics = {"iteration": it + 1, phase: loss.item(), "seconds": time.perf_counter() - tick}
            if log is not None:
                log.write(json.dumps(metrics) + "\n")
                log.flush()
                if board is not None:
                    board.add_scalar(phase, metrics[phase], it + 1)
                if (it + 1) % config.checkpoint_every == 0 or it + 1 == config.iters:
                    _checkpoint(run_dir, model, optimizer, generator, it + 1, config)
            if on_iteration is not None and rank == 0:
                on_iteration(it + 1, metrics)
        if rank == 0:
            sources = {k: [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in (("styles", style_dir), ("content", content_dir))}
            info = {"kind": "meta-trained", "iterations": config.iters, "settings": _config_dict(config), "data": sources,
                    "style_images": len(data.style_paths), "content_images": len(data.train) + len(data.val),
                    "final_losses": _final_losses(run_dir / "metrics.jsonl")}
            save_model(model, run_dir / "model.safetensors", info, half=half)
    finally:
        if log is not None:
            log.close()
        if board is not None:
            board.close()
        if world > 1:
            dist.barrier()
            dist.destroy_process_group()
    return model
