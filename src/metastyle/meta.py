"""Meta-training, the paper's Algorithm 1: learn one initialisation that adapts fast to any style.

Each outer iteration samples a meta-batch of styles. For each style the inner loop takes k
differentiable SGD steps on a batch of training content (by default on the InstanceNorm affine
parameters only, as the reference code does), and the adapted "fast weights" are scored on a
batch of held-out validation content. The outer gradient of that validation loss with respect to
all parameters (second order through the inner steps, or first order) is averaged over the
meta-batch and applied with Adam. The inner loop can instead be the adaptation users run (Adam on
every parameter, `MetaConfig.inner_loop`), first order.

Distributed: under torchrun every process draws the same meta-batch from the same seeded
generator and computes its share of the styles; the gradients are summed with an all-reduce
(gloo on CPU, NCCL on CUDA). DDP's module wrapper cannot be used here: its hooks do not support
the double backward of the second-order meta-gradient.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.func import functional_call
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from .adapt import AdaptConfig, adapt_steps
from .code_steps import code_basis
from .data import list_images, training_builtins
from .device import PRECISIONS, autocast
from .errors import MetastyleError
from .images import MAX_SIDE, load_image
from .losses import LossConfig, PerceptualLoss, content_loss
from .models import load_model, load_predictor, read_info
from .options import check_positive, check_settings, check_share, setting
from .predictor import (
    PAINTING_SIZE,
    VIEW_SIZE,
    StylePredictor,
    blend_statistics,
    conditioned_parameters,
    painting_statistics,
    style_statistics,
)
from .runfolder import RunFolder, checkpoint_due
from .sampling import ImageSampler, PhotoWindows, split_holdout
from .start import predicted_start_rates
from .transformer import WIDTH, TransformerNet, in_parameter_count, in_parameter_names
from .vgg import MIN_SIDE, VGG19


@dataclass(frozen=True)
class MetaConfig:
    """Defaults are the reference code's, except `inner_lr` (see below)."""

    iters: int = setting(100_000, "outer iterations in all (a resumed run goes on to this many)")
    size: int = setting(256, "content crop size")
    style_size: int = setting(256, "longer side of the paintings (the reference resizes them to 256)")
    meta_batch: int = setting(4, "styles per outer step")
    batch: int = setting(4, "content images per inner and outer batch")
    inner_steps: int = setting(1, "differentiable inner steps; 0 scores the start itself (with --predictor: an amortised start)")
    inner_params: str = setting("in", "adapted in the inner loop: in (InstanceNorm affine, the reference) or all", choices=("in", "all"))
    # Not in the reference: "deployed" makes the inner loop the adaptation users run (adapt.py:
    # Adam at the start's rates, a new content batch each step), first order (Nichol et al. 2018),
    # with --inner-lr unused. One SGD step on the InstanceNorm parameters is not what test time
    # does, and from 10 steps on the shared convolutions, not the start, set the result
    # (benchmarks/RESULTS.md, "Where 25 steps end"): this trains them for the steps users take.
    # Measured from the stage-7 small file, 39 held-out pairs: 150-200 iterations gave 1% at 25
    # steps (and lost 1-2% at 10), where 225 more amortised iterations gave nothing ("Meta-training
    # through the deployed steps"); at 3-4x an amortised iteration's cost, a GPU's recipe.
    inner_loop: str = setting("sgd", "sgd: differentiable SGD steps (the reference); deployed: the test-time Adam steps, first order", choices=("sgd", "deployed"))
    # Not in the reference: "photo" gives the deployed inner loop windows of the very validation
    # photos it is scored on, as `stylize --style` adapts on the photo it draws (a third lower
    # `score` total than other photos' crops: benchmarks/RESULTS.md, "Adapting on the photo"), so
    # the start learns to fit a photo in a few steps rather than a painting on any photo.
    inner_content: str = setting("other", "the deployed inner loop's crops: other (training photos) or photo (windows of the photos it is scored on)",
                                 choices=("other", "photo"))
    # The reference's 1e-5 is relative to its loss scale. With our Caffe-scale VGG-19 losses, on
    # real paintings and photos at 256 px, the gradient on a fresh network's InstanceNorm
    # parameters has norm 1.2e7-2.9e7 while the parameters have norm 40: 5e-8 moves them by
    # 1.5-3.5% in one step (measured), the "few percent" that the reference's rate gives there.
    inner_lr: float = setting(5e-8)
    # Not in the reference: with `normalized_inner` each inner step is inner_lr * g / ||g|| (over
    # the adapted parameters), a step of fixed length. Plain SGD steps grow with the gradient, and
    # meta-training learns to exploit that: measured on our shipped run, it made the initialisation
    # itself worse (loss 1e9, saturated output) and its gradients 12-30x larger, so that one inner
    # step moved the InstanceNorm parameters by 50-120%. Test-time Adam, whose steps do not grow
    # with the gradient, cannot follow such an initialisation.
    normalized_inner: bool = setting(False, "inner steps of fixed length --inner-lr (g/||g||): the initialisation cannot inflate its gradients")
    # Not in the reference: the outer objective adds `init_weight` times the validation loss of the
    # initialisation itself. Algorithm 1 only scores the weights after the inner step, so nothing
    # stops the initialisation's own output from drifting to saturated colour (measured: it did, in
    # both of our runs without this term), and test-time adaptation, with other steps than the
    # inner loop's, then starts from there.
    init_weight: float = setting(0.0, "also score the initialisation itself, with this weight, so that its own output stays sane")
    # Not in the reference: the adapted weights scored with the `score` metric's weights (content 1,
    # style 1e3 over equal layers; metrics.py) while the inner loop keeps adaptation's. The outer
    # objective is then what the targets read after the steps users take; every objective
    # built on adaptation's own weights moved the start towards the photo and away from the `score`
    # (benchmarks/RESULTS.md, "Meta-training through the CPU default's own steps"). `init_weight`
    # still scores the start at the training loss. Without it (measured, RESULTS.md, "The score
    # through the deployed steps") the first-order gradient drove the start's own loss up 27-fold in
    # 200 iterations and the objective itself rose: where the two losses disagree, the steps undo
    # what the gradient does to the start. With it (0.5) and the predictor at 3e-5 the start stayed
    # sane, and the result 175 iterations on was 2% worse.
    outer_loss: str = setting("training", "the adapted weights' loss: training (the inner loop's, --content-weight etc.) or score "
                                          "(the score metric's weights)", choices=("training", "score"))
    outer_lr: float = setting(1e-5)
    lr_decay: float = setting(2.5e-5, "lr_t = lr / (1 + t * decay), inner and outer alike")
    first_order: bool = setting(False, "first-order meta-gradient (cheaper)")
    # Not in the reference: a style predictor (predictor.py) conditions the initialisation on each
    # painting, and is meta-trained with it at `predictor_lr`.
    predictor: bool = setting(False, "condition the initialisation on each painting with a style predictor, meta-trained with it")
    predictor_lr: float = setting(3e-4, "Adam's learning rate for the style predictor")
    # Not in the reference: with 149 paintings the predictor learns them by heart. Measured on the
    # small start after 2,000 amortised iterations, 12 paintings x 2 test photos, its own start
    # (no step): style loss 2.8e7 on training paintings but 5.4e7 on held-out ones, while the start
    # it predicts for the mean statistics scores 9.4e7 and 10.3e7 (held-out paintings are not much
    # harder). A region of a painting is a new style, with its own palette and statistics. Measured
    # (benchmarks/RESULTS.md): 600 iterations with 0.5 against 775 without, from the same file, on the
    # 25 held-out paintings x 3 photos: the start alone 0.91x (median), after 10 or 25 steps level.
    style_crops: float = setting(0.0, "share of the styles that are a random region (60-100% of each side) of a painting, not all of it")
    # Not in the reference: a blend of two paintings is a new style too. A collage with a share w of
    # one painting's area has exactly the blend w : 1-w of their Gram matrices (normalised per
    # pixel), and its channel means and variances blend the same way (predictor.blend_statistics),
    # so every pair and every w is a style the predictor has to place between the two (a style
    # drawn as a region, `style_crops`, stays unblended). Measured
    # (benchmarks/RESULTS.md): 700 iterations at 0.5 from the stage-6 small file lowered the start's
    # style loss 3-5% on training and held-out paintings alike, as plain training does.
    style_blends: float = setting(0.0, "share of the styles that blend two paintings (a random share of each), as a collage of them would")
    # Not in the reference: a painting with two colour channels swapped keeps its strokes in a palette
    # that no painting has, so the predictor learns palettes rather than 149 points. Only RGB's three
    # transpositions (`SWAPS`): its 3-cycles, BRG and GBR, stay unseen for photo_windows.py --recolour,
    # the stand-in for held-out paintings on which adaptation's settings are chosen.
    style_recolours: float = setting(0.0, "share of the styles whose painting has two colour channels swapped, a palette no painting has")
    # Not in the reference: Gaussian noise on the predictor's standardised input statistics, of this
    # standard deviation (Tikhonov regularisation: a smoother map from statistics to weights).
    # Measured the same way: 350 iterations at 0.5, 4-5% on both kinds of painting, gap unchanged.
    predictor_noise: float = setting(0.0, "standard deviation of the noise on the predictor's standardised inputs in training")
    # Not in the reference: the first `warmup` iterations train the network to reproduce its
    # content (content loss alone), so that meta-training starts from a network that keeps the
    # photo rather than from noise, which a small data set and a short run cannot recover from.
    warmup: int = setting(0, "first iterations that train the network to reproduce photos (content loss only)")
    warmup_lr: float = setting(1e-3, "Adam's rate during the warm-up (decayed like --outer-lr)")
    # Not in the reference: single checkpoints of one amortised run differed by 8% in the start's
    # held-out style loss (4.64e7 at iteration 200, 5.00e7 at 350; their average 4.78e7), so the
    # model file can hold an exponential moving average of the weights instead (Polyak averaging).
    ema: float = setting(0.0, "the model file holds a moving average of the weights with this decay per iteration (0: the weights themselves)")
    precision: str = setting("fp32", "bf16: autocast, 1.7x faster on AVX512-BF16 CPUs (Grams stay fp32)", choices=PRECISIONS)
    val_fraction: float = setting(0.1, "of the training content, the validation content")
    test_fraction: float = setting(0.1, "of each content folder, never used in training: the evaluation photos")
    seed: int = setting(0)
    checkpoint_every: int = setting(100)
    loss: LossConfig = field(default_factory=LossConfig)

    def __post_init__(self) -> None:
        check_settings(self)
        if self.inner_steps < 0 or self.warmup < 0 or self.iters < 1 or self.checkpoint_every < 1:
            raise MetastyleError("iters and checkpoint-every must be at least 1, inner steps and warm-up at least 0")
        check_positive(self, "meta_batch", "batch", "outer_lr", "predictor_lr", "warmup_lr")
        check_positive(self, "inner_lr", "lr_decay", zero=True)
        if min(self.size, self.style_size) < MIN_SIDE or max(self.size, self.style_size) > MAX_SIDE:
            raise MetastyleError(f"sizes must be at least {MIN_SIDE} px (at most {MAX_SIDE}), got {self.size} and {self.style_size}")
        check_share(self, "style_crops", "style_blends", "style_recolours")
        if not 0 <= self.ema < 1:
            raise MetastyleError(f"ema is a decay between 0 and 1 (excluded), got {self.ema}")
        if self.predictor_noise < 0 or (self.predictor_noise and not self.predictor):
            raise MetastyleError(f"predictor noise is a standard deviation (at least 0) for a run with --predictor, got {self.predictor_noise}")
        if self.inner_loop == "deployed" and (not self.first_order or self.normalized_inner or self.inner_steps < 1):
            raise MetastyleError("the deployed inner loop takes at least one step and is first order only: add --first-order (and no --normalized-inner)")
        if self.inner_content == "photo" and self.inner_loop != "deployed":
            raise MetastyleError("--inner-content photo is for the deployed inner loop: add --inner-loop deployed")
        if self.inner_steps == 0 and not self.predictor:
            raise MetastyleError("--inner-steps 0 only makes sense with --predictor: without it the start would not depend on the painting")


@dataclass
class Task:
    """One style of the meta-batch: its loss, a training batch (for the deployed inner loop one per
    step, concatenated) and a validation batch."""

    loss: PerceptualLoss
    train: torch.Tensor
    val: torch.Tensor
    statistics: torch.Tensor | None = None  # the painting's, for a style predictor (predictor.style_statistics)


def meta_loss(
    model: TransformerNet, tasks: list[Task], config: MetaConfig, inner_lr: float, scale: int, predictor: StylePredictor | None = None
) -> torch.Tensor:
    """Algorithm 1's outer objective: validation loss of the inner-loop-adapted weights, summed / scale.

    With a `predictor` each task starts from the weights predicted for its painting.
    """
    params = dict(model.named_parameters())
    device = next(model.parameters()).device
    precision, total = autocast(device, config.precision), torch.zeros((), device=device)
    for task in tasks:
        with precision:
            start = conditioned_parameters(model, predictor, task.statistics) if predictor is not None else params
        if config.inner_loop == "deployed":  # its own autocast, per step (deployed_steps)
            fast = deployed_steps(model, start, task, config, predictor)
        else:
            with precision:
                fast = sgd_steps(model, start, task, config, inner_lr)
        outer = task.loss.reweighted(LossConfig()) if config.outer_loss == "score" else task.loss
        with precision:
            val_targets = outer.content_targets(task.val)  # the same layers as task.loss's (`reweighted` keeps them)
            total = total + outer(functional_call(model, fast, (task.val,)), val_targets).total
            if config.init_weight:  # at the training loss: an anchor for the start, whatever the adapted weights are scored at
                total = total + config.init_weight * task.loss(functional_call(model, start, (task.val,)), val_targets).total
    return total / scale


def sgd_steps(model: TransformerNet, start: dict[str, torch.Tensor], task: Task, config: MetaConfig, inner_lr: float) -> dict[str, torch.Tensor]:
    """The reference's inner loop: k differentiable SGD steps from `start` on the task's training batch."""
    inner_names = in_parameter_names(model) if config.inner_params == "in" else list(start)
    fast = start
    train_targets = task.loss.content_targets(task.train) if config.inner_steps else {}
    for _ in range(config.inner_steps):
        inner = task.loss(functional_call(model, fast, (task.train,)), train_targets).total
        grads = torch.autograd.grad(inner, [fast[n] for n in inner_names], create_graph=not config.first_order)
        rate = inner_lr / torch.sqrt(sum((g * g).sum() for g in grads)) if config.normalized_inner else inner_lr
        fast = {**fast, **{n: fast[n] - rate * g for n, g in zip(inner_names, grads)}}
    return fast


def deployed_steps(model: TransformerNet, start: dict[str, torch.Tensor], task: Task, config: MetaConfig,
                   predictor: StylePredictor | None) -> dict[str, torch.Tensor]:
    """`MetaConfig.inner_loop` "deployed": the test-time steps (adapt.adapt_steps) from `start` on a
    detached copy, one of the task's training batches each, at the test-time rates of a start predicted
    by `predictor` (with steps on its style code, at meta-training's gain of 1), or of a shared one.
    Call it outside autocast, as test time does: in an autocast region the backward passes would
    run in bf16, and the region's cache would keep the bf16 weights from before each step.

    The adapted weights come back exactly, plus `start` minus itself (zero): the outer gradient
    is taken at the weights test time would give, and reaches the start, and through it the body
    and the predictor, unchanged.
    """
    network = copy.deepcopy(model)
    network.load_state_dict({n: p.detach() for n, p in start.items()})
    steps = AdaptConfig(steps=config.inner_steps, batch=config.batch, size=config.size, params=config.inner_params,
                        precision=config.precision, loss=config.loss).with_rates(predicted_start_rates(config.inner_content == "photo") if predictor is not None else {})
    adapt_steps(network, task.loss, task.train.split(config.batch), steps, code_basis=code_basis(predictor) if predictor is not None else None)
    adapted = dict(network.named_parameters())
    return {n: adapted[n].detach() + (p - p.detach()) for n, p in start.items()}


VIEWS = 8  # random views per painting that the style predictor learns from
SWAPS = ((1, 0, 2), (2, 1, 0), (0, 2, 1))  # RGB's transpositions, `MetaConfig.style_recolours`


def swapped(image: torch.Tensor, swap: int | None) -> torch.Tensor:
    """`image` (Nx3xHxW) with its colour channels in the order `SWAPS[swap]` (None: as it is)."""
    return image if swap is None else image[:, SWAPS[swap]]


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
        # The reference scores the centre squares of its validation photos; the deployed inner loop,
        # whose meta-gradient is first order and noisier, random crops of them (10 photos otherwise).
        self.val = ImageSampler(val, config.size, augment=config.inner_loop == "deployed")
        if config.inner_steps == 0:  # no inner loop to hold content out from: score random crops of all of it
            self.train = self.val = ImageSampler(train + val, config.size, augment=True)
        self.views = ImageSampler(self.style_paths, VIEW_SIZE, augment=True)  # what the style predictor sees
        self.seed = config.seed
        self._losses: dict[tuple[int, int | None], PerceptualLoss] = {}  # (index, swap): each painting's Gram targets, computed once
        self._statistics: dict[tuple[int, int, int | None], torch.Tensor] = {}  # and the statistics of its views
        self._paintings: dict[tuple[int, int], torch.Tensor] = {}  # (index, longer side): the image, for its regions

    def style_loss(self, index: int, vgg: VGG19, device: torch.device, config: MetaConfig, swap: int | None = None) -> PerceptualLoss:
        if (index, swap) not in self._losses:
            painting = swapped(load_image(self.style_paths[index], self.style_size), swap)
            self._losses[index, swap] = PerceptualLoss(vgg, painting.to(device), config.loss)
        return self._losses[index, swap]

    def statistics(self, index: int, view: int, vgg: VGG19, device: torch.device, swap: int | None = None) -> torch.Tensor:
        """The style predictor's input for one of a painting's VIEWS random crops, each computed once.

        A fixed set of views rather than a new crop each time: VGG-19 on a 256 px view cost a third
        of an iteration of the amortised objective on the CPU.
        """
        if (index, view, swap) not in self._statistics:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + index * VIEWS + view)
            self._statistics[index, view, swap] = style_statistics(vgg, swapped(self.views.crop(index, generator), swap).to(device))
        return self._statistics[index, view, swap]

    def region(self, index: int, box: torch.Tensor, swap: int | None, vgg: VGG19, device: torch.device,
               config: MetaConfig) -> tuple[PerceptualLoss, torch.Tensor]:
        """A new style: the region `box` (4 numbers in [0, 1): its height, width, top and left) of
        painting `index` (its channels `swapped`), as a style loss at the painting's training scale and the predictor's
        statistics of it taken as at test time (predictor.painting_statistics), with a predictor."""
        height, width = 0.6 + 0.4 * box[:2]
        top, left = box[2] * (1 - height), box[3] * (1 - width)

        def cut(size: int) -> torch.Tensor:
            key = (index, size)
            if key not in self._paintings:
                self._paintings[key] = load_image(self.style_paths[index], size)
            h, w = self._paintings[key].shape[-2:]
            t, l = int(top * h), int(left * w)
            return swapped(self._paintings[key][..., t : t + round(float(height) * h), l : l + round(float(width) * w)], swap).to(device)

        return PerceptualLoss(vgg, cut(self.style_size), config.loss), painting_statistics(vgg, cut(PAINTING_SIZE)) if config.predictor else None

    def tasks(self, config: MetaConfig, generator: torch.Generator, vgg: VGG19, device: torch.device, share: slice) -> list[Task]:
        # Every process draws the whole meta-batch, so generators stay in step; each keeps its share.
        draws = []
        for _ in range(config.meta_batch):
            s = int(torch.randint(len(self.style_paths), (), generator=generator))
            view = int(torch.randint(VIEWS, (), generator=generator)) if config.predictor else None
            region = torch.rand(5, generator=generator) if config.style_crops else None
            blend = self._blend_draw(config, generator)
            swap = self._swap_draw(config, generator)
            if config.inner_content == "photo":
                val = self.val.sample(config.batch, generator)
                train = PhotoWindows(list(val.split(1)), config.size).sample(config.batch * config.inner_steps, generator)
            else:
                train = self.train.sample(config.batch * (config.inner_steps if config.inner_loop == "deployed" else 1), generator)
                val = self.val.sample(config.batch, generator)
            draws.append((s, train, val, view,
                          region[1:] if region is not None and region[0] < config.style_crops else None, blend, swap))
        tasks = []
        for s, t, v, view, box, blend, swap in draws[share]:
            loss, statistics = (self.region(s, box, swap, vgg, device, config) if box is not None
                                else self.style(s, view, blend, swap, vgg, device, config))
            tasks.append(Task(loss, t.to(device), v.to(device), statistics))
        return tasks

    def _blend_draw(self, config: MetaConfig, generator: torch.Generator) -> tuple[int, int, float] | None:
        """(second painting, its view, share of the first) for a blended style, or None for one painting."""
        if not config.style_blends:
            return None
        chance, weight = torch.rand(2, generator=generator).tolist()
        partner, view = int(torch.randint(len(self.style_paths), (), generator=generator)), int(torch.randint(VIEWS, (), generator=generator))
        return (partner, view, weight) if chance < config.style_blends else None

    @staticmethod
    def _swap_draw(config: MetaConfig, generator: torch.Generator) -> int | None:
        """Which of `SWAPS` recolours this style (`MetaConfig.style_recolours`), or None."""
        if not config.style_recolours:
            return None  # no draw: runs without recolours keep their random stream
        chance, swap = float(torch.rand((), generator=generator)), int(torch.randint(len(SWAPS), (), generator=generator))
        return swap if chance < config.style_recolours else None

    def style(self, index: int, view: int | None, blend: tuple[int, int, float] | None, swap: int | None, vgg: VGG19,
              device: torch.device, config: MetaConfig) -> tuple[PerceptualLoss, torch.Tensor | None]:
        """Painting `index` (its channels `swapped`) as a style loss and (seen in `view`, with a
        predictor) its statistics, or its `blend` with a second painting (`MetaConfig.style_blends`)."""
        loss = self.style_loss(index, vgg, device, config, swap)
        statistics = self.statistics(index, view, vgg, device, swap) if view is not None else None
        if blend is None:
            return loss, statistics
        partner, partner_view, weight = blend
        loss = loss.blend(self.style_loss(partner, vgg, device, config), weight)
        if statistics is not None:
            statistics = blend_statistics(statistics, self.statistics(partner, partner_view, vgg, device), weight)
        return loss, statistics


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


def _config_dict(config: MetaConfig) -> dict[str, Any]:
    return {k: v for k, v in asdict(config).items() if k not in ("iters", "checkpoint_every")}


def _networks(
    config: MetaConfig, init: str | os.PathLike | None, data: MetaData, vgg: VGG19, device: torch.device
) -> tuple[TransformerNet, StylePredictor | None, torch.optim.Adam]:
    """The network (seeded, or `init`'s weights), the style predictor if the config asks for one
    (`init`'s, or a new one calibrated on the training paintings), and their optimiser."""
    given = load_model(init)[0] if init is not None else None
    with torch.random.fork_rng(devices=[]):  # a seeded initialisation, global RNG untouched
        torch.manual_seed(config.seed)
        model = TransformerNet(given.width if given is not None else WIDTH)
        predictor = StylePredictor(in_parameter_count(model)) if config.predictor else None
    if given is not None:  # its width too: a small model (distill.py) trains on as a small one
        model.load_state_dict(given.state_dict())
    given_predictor = load_predictor(init) if predictor is not None and init is not None else None
    if given_predictor is not None:  # without its gain: one for the predictor as it was, not as training leaves it
        predictor.load_state_dict({**given_predictor.state_dict(), "gain": predictor.gain})
    elif predictor is not None:  # each painting's first view: computed here once, used again in training
        predictor.calibrate(torch.cat([data.statistics(i, 0, vgg, device) for i in range(len(data.style_paths))]))
    groups = [{"params": list(model.to(device).parameters()), "base_lr": config.outer_lr}]
    if predictor is not None:
        groups.append({"params": list(predictor.to(device).parameters()), "base_lr": config.predictor_lr})
    return model, predictor, torch.optim.Adam(groups, lr=config.outer_lr)


def training_stages(init: str | os.PathLike | None) -> list[dict[str, Any]]:
    """The training stages the starting model went through (the model card counts them)."""
    if init is None:
        return []
    info = read_info(init)
    return info.get("stages", [{k: info.get(k) for k in ("kind", "iterations", "settings")}])


def meta_train(
    style_dir: Source,
    content_dir: Source,
    run_dir: str | os.PathLike,
    config: MetaConfig = MetaConfig(),
    device: torch.device = torch.device("cpu"),
    resume: bool = False,
    on_iteration: Callable[[int, dict[str, float]], None] | None = None,
    half: bool = False,
    init: str | os.PathLike | None = None,
) -> TransformerNet:
    """Meta-train into `run_dir` (runfolder.RunFolder: checkpoint, metrics, model, fp16 when `half`); returns the
    model that its model file holds (the weights' moving average with `config.ema`).

    `init` starts from a model file's weights (and its style predictor, if it has one) instead of a
    seeded random network, so that training can go on from the shipped initialisation.
    """
    rank, world = _distributed()
    if config.meta_batch % world:
        raise MetastyleError(f"the meta-batch ({config.meta_batch}) must divide evenly among {world} processes")
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    folder = RunFolder(run_dir, _config_dict(config), resume, writer=rank == 0, defaults=_config_dict(MetaConfig()))
    data = MetaData(style_dir, content_dir, config)
    vgg = VGG19().to(device)
    model, predictor, optimizer = _networks(config, init, data, vgg, device)
    networks = {"model": model, **({"predictor": predictor} if predictor is not None else {})}
    averages = _averages(config, networks)
    state = {**networks, "optimizer": optimizer, **{f"ema_{name}": average for name, average in averages.items()}}
    kept = {name: averages[name].module if averages else network for name, network in networks.items()}  # what the model file holds
    generator = torch.Generator().manual_seed(config.seed)
    start = folder.load(state, generator, device)
    step = _OuterStep(config, data, model, predictor, optimizer, vgg, generator, device, rank, world)
    origin = folder.recorded_origin() or {"init": str(init) if init is not None else "random", "stages": training_stages(init)}
    stages = origin["stages"] + [{"kind": "meta-trained", "iterations": config.iters, "settings": _config_dict(config)}]
    sources = {k: [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in (("styles", style_dir), ("content", content_dir))}
    info = {"kind": "meta-trained", "iterations": config.iters, "settings": _config_dict(config), "data": sources,
            "init": origin["init"], "stages": stages,
            "style_images": len(data.style_paths), "content_images": len({*data.train.paths, *data.val.paths})}
    try:
        for it in range(start, config.iters):
            metrics = step(it)
            for name, average in averages.items():
                average.update_parameters(networks[name])
            if rank == 0:
                folder.log(metrics)
                if checkpoint_due(it + 1, config.checkpoint_every, config.iters):
                    folder.write_checkpoint(it + 1, state, generator, kept["model"], info, half, kept.get("predictor"))
                if on_iteration is not None:
                    on_iteration(it + 1, metrics)
    finally:
        folder.close()
        if world > 1:
            dist.barrier()
            dist.destroy_process_group()
    return kept["model"]


def _averages(config: MetaConfig, networks: dict[str, torch.nn.Module]) -> dict[str, AveragedModel]:
    """`MetaConfig.ema`: a moving average of each network's weights (none without it)."""
    if not config.ema:
        return {}
    return {name: AveragedModel(network, multi_avg_fn=get_ema_multi_avg_fn(config.ema)) for name, network in networks.items()}


@dataclass
class _OuterStep:
    """One outer iteration: the warm-up or Algorithm 1's meta-batch, all-reduced under torchrun, then Adam."""

    config: MetaConfig
    data: MetaData
    model: TransformerNet
    predictor: StylePredictor | None
    optimizer: torch.optim.Adam
    vgg: VGG19
    generator: torch.Generator
    device: torch.device
    rank: int
    world: int

    def __call__(self, it: int) -> dict[str, float]:
        config, tick = self.config, time.perf_counter()
        decay = 1.0 / (1.0 + it * config.lr_decay)  # the reference's schedule
        warming_up = it < config.warmup
        for group in self.optimizer.param_groups:
            group["lr"] = (config.warmup_lr if warming_up else group["base_lr"]) * decay
        self.optimizer.zero_grad(set_to_none=True)
        per_rank = config.meta_batch // self.world
        share = slice(self.rank * per_rank, (self.rank + 1) * per_rank)
        if warming_up:
            images = self.data.train.sample(config.meta_batch * config.batch, self.generator)
            mine = images[share.start * config.batch : share.stop * config.batch].to(self.device)
            with autocast(self.device, config.precision):
                loss = warmup_loss(self.model, mine, self.vgg, config.loss) / self.world
        else:
            with autocast(self.device, config.precision):  # the style targets of paintings' regions
                tasks = self.data.tasks(config, self.generator, self.vgg, self.device, share)
            if config.predictor_noise:
                self._add_noise(tasks, share)
            loss = meta_loss(self.model, tasks, config, config.inner_lr * decay, scale=config.meta_batch, predictor=self.predictor)
        loss.backward()
        loss = loss.detach()
        if self.world > 1:
            for group in self.optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is not None:  # the predictor has none during the warm-up
                        dist.all_reduce(p.grad)
            dist.all_reduce(loss)
        self.optimizer.step()
        return {"iteration": it + 1, "warmup_loss" if warming_up else "val_loss": loss.item(), "seconds": time.perf_counter() - tick}

    def _add_noise(self, tasks: list[Task], share: slice) -> None:
        """`MetaConfig.predictor_noise`: Gaussian noise on each task's statistics, in the predictor's standardised units.

        Like the tasks, the seeds are drawn for the whole meta-batch: a task's noise, and the
        generator after it, do not depend on which process computes which share (nor on how many
        views a region's statistics have).
        """
        seeds = torch.randint(2**62, (self.config.meta_batch,), generator=self.generator)[share].tolist()
        for task, seed in zip(tasks, seeds):
            noise = torch.randn(task.statistics.shape, generator=torch.Generator().manual_seed(seed)).to(self.device)
            task.statistics = task.statistics + self.config.predictor_noise * self.predictor.spread * noise
