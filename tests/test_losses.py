import pytest
import torch

from conftest import pointwise_features
from metastyle import losses
from metastyle.errors import MetastyleError
from metastyle.losses import LossConfig, PerceptualLoss, content_loss, gram, style_energy, style_loss, tv_loss


def test_gram_matches_hand_computation():
    # One image, 2 channels, 1x2 pixels: F = [[1, 2], [3, 4]].
    features = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 2, 1, 2)
    expected = torch.tensor([[1 + 4, 3 + 8], [3 + 8, 9 + 16]]) / (2 * 1 * 2)
    assert torch.allclose(gram(features)[0], expected)


def test_gram_is_float32_under_bf16_autocast():
    features = torch.rand(1, 4, 8, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        g = gram(features.bfloat16())
    assert g.dtype == torch.float32


def test_content_loss_is_mse_summed_over_layers():
    a = {"x": torch.zeros(1, 1, 2, 2), "y": torch.ones(1, 1, 1, 1)}
    b = {"x": torch.full((1, 1, 2, 2), 2.0), "y": torch.zeros(1, 1, 1, 1)}
    assert content_loss(a, b).item() == pytest.approx(4.0 + 1.0)


def test_style_loss_weights_each_layer():
    features = {"a": torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 2, 1, 2)}
    targets = {"a": torch.zeros(1, 2, 2)}
    g = gram(features["a"])[0]
    expected = 3.0 * (g**2).mean()
    assert style_loss(features, targets, {"a": 3.0}).item() == pytest.approx(expected.item())


def test_tv_loss_by_hand():
    image = torch.tensor([[0.0, 1.0], [0.0, 3.0]]).view(1, 1, 2, 2)
    # horizontal |1-0|, |3-0| -> mean 2; vertical |0-0|, |3-1| -> mean 1
    assert tv_loss(image).item() == pytest.approx(3.0)


def test_style_weights_split_equally_or_as_given():
    config = LossConfig(style_layers=("relu1_1", "relu2_1"), style_weight=10.0)
    assert config.style_weights() == {"relu1_1": 5.0, "relu2_1": 5.0}
    config = LossConfig(style_layers=("relu1_1", "relu2_1"), style_layer_weights=(1.0, 3.0), style_weight=10.0)
    assert config.style_weights() == {"relu1_1": 5.0, "relu2_1": 15.0}  # multiples of the equal share


def test_perceptual_loss_is_zero_for_the_content_itself_in_content_and_not_in_style(vgg):
    gen = torch.Generator().manual_seed(0)
    content, style = torch.rand(1, 3, 32, 32, generator=gen), torch.rand(1, 3, 32, 32, generator=gen) ** 3
    loss = PerceptualLoss(vgg, style)
    terms = loss(content, loss.content_targets(content))
    assert terms.content.item() == pytest.approx(0.0, abs=1e-6)
    assert terms.style.item() > 0
    assert terms.total.item() == pytest.approx(terms.content.item() + terms.style.item() + terms.tv.item())
    # And the style term vanishes for the style image itself.
    assert loss(style, loss.content_targets(content)).style.item() == pytest.approx(0.0, abs=1e-3)


def test_a_blend_of_two_styles_is_the_style_of_their_collage():
    gen = torch.Generator().manual_seed(0)
    left, right = torch.rand(1, 3, 8, 12, generator=gen), torch.rand(1, 3, 8, 4, generator=gen) ** 3
    features = pointwise_features({layer: 4 for layer in LossConfig().style_layers + LossConfig().content_layers})
    blended = PerceptualLoss(features, left).blend(PerceptualLoss(features, right), 0.75)
    collage = PerceptualLoss(features, torch.cat([left, right], dim=-1))
    assert all(torch.allclose(blended.style_grams[k], collage.style_grams[k], rtol=1e-5) for k in collage.style_grams)
    assert not torch.allclose(blended.style_grams["relu1_1"], PerceptualLoss(features, left).style_grams["relu1_1"])


def test_style_energy_is_the_style_loss_of_an_image_without_features():
    gen = torch.Generator().manual_seed(0)
    targets = {"a": gram(torch.rand(1, 3, 4, 4, generator=gen)), "b": gram(torch.rand(1, 5, 2, 2, generator=gen))}
    weights = {"a": 2.0, "b": 7.0}
    silent = {"a": torch.zeros(1, 3, 4, 4), "b": torch.zeros(1, 5, 2, 2)}
    assert style_energy(targets, weights) == pytest.approx(style_loss(silent, targets, weights).item())


def test_content_balance_scales_the_content_weight_with_the_paintings_loudness(monkeypatch):
    gen = torch.Generator().manual_seed(0)
    features = pointwise_features({layer: 4 for layer in LossConfig().style_layers + LossConfig().content_layers})
    painting, content = torch.rand(1, 3, 8, 8, generator=gen), torch.rand(1, 3, 8, 8, generator=gen)
    loud = painting * 2  # pointwise features of a brighter copy: larger Gram entries, a louder style
    fixed, balanced = LossConfig(content_weight=80.0), LossConfig(content_weight=80.0, content_balance=0.5)
    assert PerceptualLoss(features, loud, fixed).content_weight == 80.0  # no balance: the weight as given
    energies = [style_energy(PerceptualLoss(features, p, fixed).style_grams, fixed.style_weights()) for p in (painting, loud)]
    assert energies[1] > 2 * energies[0]
    monkeypatch.setattr(losses, "BALANCE_REFERENCE", (energies[0] * energies[1]) ** 0.5)  # the two within the range
    quiet_loss, loud_loss = PerceptualLoss(features, painting, balanced), PerceptualLoss(features, loud, balanced)
    assert loud_loss.content_weight / quiet_loss.content_weight == pytest.approx((energies[1] / energies[0]) ** 0.5, rel=1e-5)
    assert quiet_loss.content_weight == pytest.approx(80.0 * (energies[0] / losses.BALANCE_REFERENCE) ** 0.5, rel=1e-5)
    terms = loud_loss(content, loud_loss.content_targets(painting))  # and the loss uses it
    plain = PerceptualLoss(features, loud, fixed)(content, loud_loss.content_targets(painting))
    assert terms.content.item() == pytest.approx(plain.content.item() * loud_loss.content_weight / 80.0, rel=1e-5)
    assert terms.style.item() == pytest.approx(plain.style.item(), rel=1e-6)
    monkeypatch.setattr(losses, "BALANCE_REFERENCE", energies[1] / 1000)  # far louder than any painting: not extrapolated
    assert PerceptualLoss(features, loud, balanced).content_weight == pytest.approx(80.0 * losses.BALANCE_RANGE[1] ** 0.5)
    with pytest.raises(MetastyleError, match="content balance"):
        LossConfig(content_balance=-1.0)


def test_a_reweighted_loss_is_the_loss_built_with_those_weights():
    gen = torch.Generator().manual_seed(0)
    features = pointwise_features({layer: 4 for layer in LossConfig().style_layers + LossConfig().content_layers})
    painting, image = torch.rand(1, 3, 8, 8, generator=gen), torch.rand(1, 3, 8, 8, generator=gen)
    adaptation = LossConfig(content_weight=60.0, style_layer_weights=(1000.0, 1.0, 1.0, 1.0, 1.0), content_balance=0.75)
    score = PerceptualLoss(features, painting, adaptation).reweighted(LossConfig())
    fresh = PerceptualLoss(features, painting, LossConfig())
    targets = fresh.content_targets(painting)
    assert score.content_weight == 1.0 and score(image, targets).total.item() == pytest.approx(fresh(image, targets).total.item(), rel=1e-6)
    assert score(image, targets).style.item() != pytest.approx(PerceptualLoss(features, painting, adaptation)(image, targets).style.item())
    with pytest.raises(MetastyleError, match="same content and style layers"):
        fresh.reweighted(LossConfig(style_layers=("relu1_1",)))
