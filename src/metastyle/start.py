"""Where adaptation starts: the shipped meta-learned initialisation, a model file, or a random network.

An initialisation with a style predictor (predictor.py) starts each painting from the weights it
predicts for that painting; one without starts every painting from the same weights.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .code_steps import code_basis
from .images import load_image
from .models import load_model, load_predictor
from .predictor import PAINTING_SIZE, StylePredictor, start_for
from .sampling import ImageSampler, PhotoWindows
from .transformer import TransformerNet
from .vgg import VGG19

SHIPPED_MODEL = Path(__file__).with_name("weights") / "metastyle.safetensors"
# Half the width, a quarter of the arithmetic: for real-time stylisation on a CPU (distill.py).
SMALL_MODEL = SHIPPED_MODEL.with_name("metastyle-small.safetensors")


def shipped_start() -> Path:
    """The start that adaptation uses by default, on every device: the small model, which had twelve
    stages of meta-training to the full model's two. At the CPU budget of its time (25 steps) it
    scored level with the full one and stylises 2.8x faster (benchmarks/RESULTS.md, "Real time on a
    plain CPU"); at CUDA's reference budget (200 steps of 4 crops) its `score` total is lower on 15
    of 15 held-out pairs (median 0.78x; "The small start at CUDA's budget"). The full model stays as
    the small one's teacher (`make small`) and as `--init full`."""
    return SMALL_MODEL if SMALL_MODEL.is_file() else SHIPPED_MODEL


# Adam's rates for a start predicted for the painting (`AdaptConfig.with_rates`), chosen on training
# paintings and photos that neither training nor the held-out bench uses, at the CPU budget
# (benchmarks/adapt_lrs.py; RESULTS.md, "Adam's rates from a predicted start"). Such a start is
# already near a style network: Adam moves every weight by about its rate each step, and the
# reference's 1e-3 on the convolutions undoes part of the start (median total loss 0.81x the
# reference's with 1e-4, 0.87x with 2.5e-4, 0.88x with 0, 12 pairs), while the InstanceNorm
# parameters, where a style lives (Dumoulin et al. 2017), take steps of 1e-2. On the held-out
# paintings, which the predictor never saw, less of it carries over: at 25 steps the total is level
# and the gain is a content loss 6% lower for the same style; at 10 steps the total is 0.90x.
# The style code (code_steps.py) steps at 0.5: on recoloured training paintings x 3 photos (the
# stand-in below), at 10 / 25 steps of crops the total ends 0.873x / 0.885x at 0.25, 0.807x / 0.832x
# at 0.5 and 0.750x / 0.838x at 1 (medians of 24; content 1.10x / 1.14x at 0.5, 1.21x / 1.24x at 1)
# (benchmarks/RESULTS.md, "Steps on the style code").
PREDICTED_START_RATES = {"lr": 1e-4, "in_lr": 1e-2, "code_lr": 0.5}
# On windows of the photo to be drawn (`sampling.PhotoWindows`) the same window often comes back every
# step, so its gradients agree, and faster rates pay where the predicted start is far from the
# painting: on training paintings with their colour channels permuted (palettes the predictor never
# saw, as it never saw the held-out paintings) the `score` total ends 12% lower than at the rates
# above (median, lower on 24 of 24 pairs), 5% on the training paintings as they are (19 of 24);
# 6e-4 / 3e-2 is level, 8e-4 / 4e-2 gives back content (RESULTS.md, "Adapting on the photo: no
# mirror, the pixels' steps"). Within that, the residual blocks take twice the rate and the last
# convolution (to RGB, whose weights are a third the size of the others') a quarter: on the same 24
# recoloured pairs the total ends 0.948x (median; lower on 21, the content loss on 22, 0.96x), where
# either change alone gave 0.96-0.98x and other sections nothing (RESULTS.md, "Rates by section").
# And Adam's momentum (its first-moment decay) at 0.7, not the reference's 0.9: in a dozen steps on
# one photo a momentum of 0.9 keeps pushing along the first steps' gradients after they have done
# their work. On the first 8 of those recoloured paintings x 3 photos, with windows' loss, the total
# ends 0.959x / 0.933x / 0.957x / 0.961x at 0.8 / 0.7 / 0.6 / 0.5 (median; lower on 24 / 23 / 16 /
# 17 of 24), content and style both lower (0.7 on all 24 paintings: 0.934x, lower on 67 of 72);
# Adam's second-moment decay (0.99, 0.9) changed nothing (0.997-0.999x). On crops, where each step
# brings a new crop, 0.7 is 1.010x: they keep the reference's 0.9. The 0.7 holds at the CPU's 12
# steps; longer budgets move it back towards 0.9 (`adapt.budget_momentum`: at 100 steps 0.7 was
# 1.022x, at 50 1.017x, at 25 0.956x). Held out: total 0.945x (lower on
# 72 of 75), both below lite's on 66 of 75 (63), Gatys 2.52x (2.70x) (RESULTS.md, "Less momentum on windows").
# No steps on the style code there (code_steps.py): on the 75 held-out pairs, at 0.5 with half the
# content term, 0.954x at 12 steps (alone it overshoots on 12 pairs), but a step with it takes 1.4x as
# long, and 17 steps without it end at 0.956x with less content loss (RESULTS.md, "The code on windows
# of the photo, held out").
PREDICTED_START_WINDOW_RATES = {"lr": 4e-4, "in_lr": 2e-2, "residual_lr": 8e-4, "output_lr": 1e-4, "beta1": 0.7}


# Johnson et al.'s random start on windows of the photo: half the reference's rate, which is made
# for tens of thousands of steps on crops of many photos, not a hundred on one. On 3 held-out paintings x 2
# photos (benchmarks/johnson_rate.py, photo_windows/johnson_rate.json), its total at 25 / 50 / 100
# steps against 1e-3's (medians of 6): 2.5e-4 0.625x / 0.736x / 0.804x, 5e-4 0.588x / 0.708x /
# 0.781x (lower on 6 of 6 at every budget), 2e-3 2.4-3.0x. The held-out bench's baseline adapts
# there at its best (RESULTS.md, "Johnson's random start at its own rate"). This tunes the
# baseline on held-out pairs, which can only flatter it. CUDA's 200 steps take it unmeasured.
RANDOM_START_WINDOW_RATES = {"lr": 5e-4}
# On crops of other photos a random start keeps the reference's 1e-3, for the long budgets a per-style
# network trains for (`train-style --steps`): half of it gains up to 100 steps (0.77x at the CPU's 12, 0.90x
# at 100) and no longer from 200 to 800 (medians 1.01x / 1.00x / 1.05x, the mean 4% higher at 200;
# 2 held-out paintings x 3 photos; RESULTS.md, "Johnson's rate at long budgets").


def predicted_start_rates(on_windows: bool) -> dict[str, float]:
    """A predicted start's Adam rates (and, on windows, momentum): on windows of the photo to be drawn, or on crops of other photos."""
    return PREDICTED_START_WINDOW_RATES if on_windows else PREDICTED_START_RATES


@dataclass
class Start:
    network: TransformerNet
    predictor: StylePredictor | None
    description: str  # one line for progress output and model metadata
    window_rates: dict[str, float] | None = None  # a start without a predictor: its own rates on windows of the photo

    @property
    def rates(self) -> dict[str, float]:
        """The Adam rates this start adapts best with on crops of other photos; none of its own (the
        reference's) without a predictor."""
        return PREDICTED_START_RATES if self.predictor is not None else {}

    def rates_for(self, content: ImageSampler | PhotoWindows) -> dict[str, float]:
        """The Adam rates this start adapts best with on `content`: a predicted start faster on
        windows of the photo to be drawn, a random one slower there; the reference's elsewhere."""
        on_windows = isinstance(content, PhotoWindows)
        if self.predictor is not None:
            return predicted_start_rates(on_windows)
        return (self.window_rates or {}) if on_windows else {}

    @property
    def code_basis(self) -> torch.Tensor | None:
        """How its predicted starts' InstanceNorm parameters move with the style code (code_steps.py); None without a predictor."""
        return code_basis(self.predictor, self.predictor.gain) if self.predictor is not None else None

    def for_painting(self, painting: str | os.PathLike, vgg: VGG19) -> TransformerNet:
        """The network to adapt to the painting in this file, on `vgg`'s device: the start predicted
        for it, or without a predictor the one shared network (the file is then not read)."""
        if self.predictor is None:
            return self.network
        device = next(vgg.parameters()).device
        return start_for(self.network, self.predictor, vgg, load_image(painting, PAINTING_SIZE).to(device))


def load_start(init: str | os.PathLike | None = None, seed: int = 0) -> Start:
    """`init` is a model file, "random" (Johnson et al.'s start), "small" or "full" (the shipped
    small or full model), or None for the full one."""
    if init is None and SHIPPED_MODEL.is_file():
        init = SHIPPED_MODEL
    init = {"small": SMALL_MODEL, "full": SHIPPED_MODEL}.get(str(init), init)
    if init is None or str(init) == "random":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            network = TransformerNet()
        what = "a random initialisation (Johnson et al.)"
        if init is None:
            what += ": this version ships no meta-trained model yet"
        return Start(network, None, what, window_rates=RANDOM_START_WINDOW_RATES)
    network, info = load_model(init)
    predictor = load_predictor(init)
    conditioned = ", conditioned on the painting" if predictor is not None else ""
    stages = len(info.get("stages", [])) or 1
    history = f"{info.get('kind', 'model')} in {stages} stages, the last" if stages > 1 else info.get("kind", "model")
    return Start(network, predictor, f"{init} ({history} {info.get('iterations', info.get('steps', '?'))} iterations{conditioned})")
