"""Steps on the style code (code_steps.py): Adam on the predictor's code, folded into the network."""

from dataclasses import replace

import pytest
import torch
from torch.func import functional_call

from conftest import smooth_photo
from metastyle import pipeline
from metastyle.adapt import AdaptConfig, adapt_network
from metastyle.code_steps import CodeSteps, code_basis
from metastyle.errors import MetastyleError
from metastyle.predictor import StylePredictor
from metastyle.sampling import ImageSampler
from metastyle.images import load_image
from metastyle.transformer import TransformerNet, in_parameter_names


def predicted_start(seed: int = 0) -> tuple[TransformerNet, torch.Tensor]:
    """A network and the code basis of a predictor whose head is not zero (a fresh one's is)."""
    torch.manual_seed(seed)
    network, predictor = TransformerNet(), StylePredictor()
    torch.nn.init.normal_(predictor.head.weight, std=0.02)
    return network, code_basis(predictor, gain=0.5)


def norms(network: TransformerNet) -> torch.Tensor:
    params = dict(network.named_parameters())
    return torch.cat([params[name].detach().flatten() for name in in_parameter_names(network)])


def test_a_code_step_is_adams_step_on_the_code_carried_into_the_norms():
    network, basis = predicted_start()
    image = torch.rand(1, 3, 24, 24, generator=torch.Generator().manual_seed(1))
    target = torch.rand(1, 3, 24, 24, generator=torch.Generator().manual_seed(2))
    names = in_parameter_names(network)
    # The code as an explicit variable: the norms are offset by basis @ code
    code = torch.zeros(basis.shape[1], requires_grad=True)
    params = dict(network.named_parameters())
    offsets = (basis @ code).split([params[n].numel() for n in names])
    params = {**params, **{n: params[n] + o.view_as(params[n]) for n, o in zip(names, offsets)}}
    (grad,) = torch.autograd.grad((functional_call(network, params, (image,)) - target).square().mean(), code)
    expected = basis @ (-1e-2 * grad / (grad.abs() + 1e-8))  # Adam's first step
    before = {n: p.detach().clone() for n, p in network.named_parameters()}
    steps = CodeSteps(network, basis, 1e-2, (0.9, 0.999))
    steps.step(torch.autograd.grad((network(image) - target).square().mean(), steps.params))
    assert torch.allclose(norms(network) - torch.cat([before[n].flatten() for n in names]), expected, atol=1e-6)
    assert expected.abs().max() > 1e-3
    assert all(torch.equal(p, before[n]) for n, p in network.named_parameters() if n not in names)


def test_steps_on_the_code_alone_stay_in_its_span_and_lower_the_loss(vgg, painting, tmp_path):
    network, basis = predicted_start()
    photos = [smooth_photo(tmp_path / f"p{i}.png", size=(40, 36), seed=i) for i in range(2)]
    style = load_image(painting, 32)
    # The norms' own rate far below the code's: what moves them is the code
    config = AdaptConfig(steps=20, batch=2, size=24, style_size=32, params="in", in_lr=1e-9, code_lr=0.05)
    losses = []
    adapted, _ = adapt_network(network, style, ImageSampler(photos, 24), config, vgg, code_basis=basis,
                               on_step=lambda step, terms, _: losses.append(float(terms.total)))
    move = norms(adapted) - norms(network)
    in_span = basis @ torch.linalg.lstsq(basis, move.unsqueeze(1)).solution.squeeze(1)
    assert move.norm() > 0.05
    assert (move - in_span).norm() < 1e-3 * move.norm()
    assert sum(losses[-5:]) < sum(losses[:5])


def test_the_code_follows_the_style_term_and_its_share_of_the_content_term(vgg, painting, tmp_path):
    network, basis = predicted_start()
    photos = [smooth_photo(tmp_path / "p.png", size=(40, 36), seed=0)]
    config = AdaptConfig(steps=3, batch=1, size=24, style_size=32, params="in", in_lr=1e-9, code_lr=0.05)
    without_style = replace(config, loss=replace(config.loss, style_weight=0.0))
    style = load_image(painting, 32)
    # Without a style term the code stays where it is, unless it is given a share of the content term
    for settings, moves in ((config, True), (without_style, False), (replace(without_style, code_content=0.5), True)):
        adapted, terms = adapt_network(network, style, ImageSampler(photos, 24), settings, vgg, code_basis=basis)
        assert float(terms.content) > 0
        assert ((norms(adapted) - norms(network)).abs().max() > 1e-3) == moves


def test_steps_on_the_code_need_a_predicted_start(vgg, painting, tmp_path):
    photos = [smooth_photo(tmp_path / "p.png", size=(40, 36), seed=0)]
    config = AdaptConfig(steps=1, batch=1, size=24, style_size=32, code_lr=0.1)
    with pytest.raises(MetastyleError, match="style predictor"):
        adapt_network(TransformerNet(), load_image(painting, 32), ImageSampler(photos, 24), config, vgg)
    adapt_network(TransformerNet(), load_image(painting, 32), ImageSampler(photos, 24), replace(config, code_lr=0.0), vgg)
    with pytest.raises(MetastyleError, match="style predictor"):  # a rate given for a random start
        pipeline.adapt(painting, init="random", config=config, device="cpu", vgg=vgg, content_dir=photos[0].parent)
    with pytest.raises(MetastyleError, match="code lr"):
        AdaptConfig(code_lr=-1.0)
    with pytest.raises(MetastyleError, match="share"):
        AdaptConfig(code_content=1.5)
