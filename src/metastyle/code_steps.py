"""Steps on the style code: adaptation's moves along the directions the style predictor learned.

A predicted start sets the network's InstanceNorm parameters from a 100-number code, the predictor's
bottleneck (predictor.py), so the predictor's head spans the ways in which styles differ across the
paintings it was trained on. Adam moves each of the 1,600 parameters on its own, by about its rate a
step; Adam on the code, beside Adam on the weights, moves them along those directions together, as
latent embedding optimisation does (Rusu et al. 2019, LEO).

The code follows the style term alone. In code space the content and style terms pull against each
other (cosines of -0.91 to -0.31 at the start on 18 of the 25 held-out paintings), and where the content term
weighs most in adaptation's loss, steps on the whole loss spent the code on the photo: 10 steps on
crops ended at 1.21x the `score` total on one held-out painting and 0.61x on another (median 0.99x).
Driven by the style term the code pulls the start towards the painting, and the weights' own steps
keep the photo (benchmarks/RESULTS.md, "Steps on the style code"). That costs a second backward pass
to the InstanceNorm parameters: a step takes 1.4x as long. The photo pays for it (content 1.25x on
held-out crops); `AdaptConfig.code_content` mixes a share of the content term back into the code's
gradient for users who want it kept.

The code's change is folded into the InstanceNorm parameters after every step, so the network
stays a plain `TransformerNet`, whatever reads it between steps or after.
"""

from __future__ import annotations

import torch

from .predictor import StylePredictor
from .transformer import TransformerNet, in_parameter_names


def code_basis(predictor: StylePredictor, gain: float | torch.Tensor = 1.0) -> torch.Tensor:
    """Parameters x code (1600x100 for the small start): how a start's InstanceNorm parameters
    (`predictor.conditioned_parameters` at `gain`) move with the code."""
    return (gain * predictor.head.weight).detach()


class CodeSteps:
    """Adam on a code offset that moves `model`'s InstanceNorm parameters by `basis` times it.

    `step(grads)` takes the gradients of the term the code follows with respect to `params` (the
    InstanceNorm parameters): the code's gradient is the basis's transpose times them, and its Adam
    update goes into the parameters at once.
    """

    def __init__(self, model: TransformerNet, basis: torch.Tensor, lr: float, betas: tuple[float, float]):
        params = dict(model.named_parameters())
        self.params = [params[name] for name in in_parameter_names(model)]
        if basis.shape[0] != sum(p.numel() for p in self.params):
            raise ValueError(f"a code basis for {basis.shape[0]} InstanceNorm parameters, the network has "
                             f"{sum(p.numel() for p in self.params)}")
        self.basis = basis.to(self.params[0].device)
        self.code = torch.zeros(basis.shape[1], device=self.basis.device, requires_grad=True)
        self.optimizer = torch.optim.Adam([self.code], lr=lr, betas=betas)

    @torch.no_grad()
    def step(self, grads: tuple[torch.Tensor, ...]) -> None:
        self.code.grad = self.basis.T @ torch.cat([g.flatten() for g in grads])
        before = self.code.clone()
        self.optimizer.step()
        moves = (self.basis @ (self.code - before)).split([p.numel() for p in self.params])
        for p, move in zip(self.params, moves):
            p.add_(move.view_as(p))
