"""How the photo moves with the style code: the content term's Gauss-Newton matrix in code space.

Steps on the style code (code_steps.py) cost the photo. If that cost sat in a few directions of the
code, a metric could steer the code's steps round them: J is the Jacobian of VGG's content features
(relu4_2) of the stylised crop with respect to the code, G = J^T J / features the content term's
curvature, averaged over crops of the built-in training photos, for each training painting's
predicted start. Forward mode, a column per code dimension (100 Jacobian-vector products a crop, 45 s
on one thread at 256 px). Writes the matrices (for a hand patch that whitens the code's steps with
them) and prints their spectra.

    python benchmarks/code_metric.py --paintings 4 --crops 3 -o runs/metric-0.pt
    python benchmarks/code_metric.py --paintings 4 --crops 3 --skip 4 -o runs/metric-4.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch.func import functional_call, jvp, vmap

from adapt_lrs import training_paintings
from metastyle.data import training_builtins
from metastyle.sampling import ImageSampler
from metastyle.start import load_start
from metastyle.transformer import TransformerNet, in_parameter_names
from metastyle.vgg import VGG19


def content_jacobian(network: TransformerNet, basis: torch.Tensor, vgg: VGG19, crop: torch.Tensor) -> torch.Tensor:
    """Code dimensions x content features: how relu4_2 of the stylised crop moves with the code."""
    params = {name: p.detach() for name, p in network.named_parameters()}
    names = in_parameter_names(network)
    sizes, start = [params[n].numel() for n in names], torch.cat([params[n].flatten() for n in names])

    def features(code: torch.Tensor) -> torch.Tensor:
        moved = dict(zip(names, (start + basis @ code).split(sizes)))
        stylised = functional_call(network, {**params, **{n: t.view_as(params[n]) for n, t in moved.items()}}, (crop,))
        return vgg(stylised, ["relu4_2"])["relu4_2"].flatten()

    zero = torch.zeros(basis.shape[1])
    return torch.cat([vmap(lambda tangent: jvp(features, (zero,), (tangent,))[1])(chunk) for chunk in torch.eye(basis.shape[1]).split(10)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init", default="small")
    parser.add_argument("--paintings", type=int, default=4)
    parser.add_argument("--skip", type=int, default=0, help="training paintings to skip (to split the work)")
    parser.add_argument("--crops", type=int, default=3, help="256 px crops a painting")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    vgg, start = VGG19().eval(), load_start(args.init)
    basis = start.code_basis
    sampler, generator = ImageSampler(training_builtins("photo"), 256), torch.Generator().manual_seed(args.skip)
    metrics = []
    for painting in training_paintings(args.skip + args.paintings)[args.skip:]:
        network = start.for_painting(painting, vgg).eval()
        jacobians = [content_jacobian(network, basis, vgg, sampler.sample(1, generator)) for _ in range(args.crops)]
        metrics.append(sum(j @ j.T / j.shape[1] for j in jacobians) / args.crops)
        spectrum = torch.linalg.eigvalsh(metrics[-1]).flip(0)
        print(painting.stem, "eigenvalues / their mean, 1st 2nd 5th 10th 20th 50th 100th:",
              " ".join(f"{v:.2g}" for v in (spectrum / spectrum.mean())[[0, 1, 4, 9, 19, 49, 99]]), flush=True)
        torch.save({"paintings": len(metrics), "metric": torch.stack(metrics)}, args.output)


if __name__ == "__main__":
    main()
