import pytest
import torch
from torch.func import functional_call

from metastyle.transformer import TransformerNet, count_parameters, in_parameter_names


def test_size_matches_the_paper():
    model = TransformerNet()
    assert count_parameters(model) == 1_677_635  # "1.68 M" (less the 1,600 biases that IN cancels)
    in_params = sum(p.numel() for n, p in model.named_parameters() if n in in_parameter_names(model))
    assert in_params == 3200  # "about 3.2 k" InstanceNorm affine parameters


@pytest.mark.parametrize("shape", [(1, 3, 17, 23), (2, 3, 32, 32), (1, 3, 1, 1), (1, 3, 5, 130)])
def test_any_input_size_comes_back_at_its_own_size(shape):
    out = TransformerNet()(torch.rand(shape))
    assert out.shape == shape
    assert 0 <= out.min() and out.max() <= 1


def test_fast_weights_replace_the_parameters():
    torch.manual_seed(0)
    model = TransformerNet()
    x = torch.rand(1, 3, 16, 16)
    params = dict(model.named_parameters())
    same = functional_call(model, params, (x,))
    assert torch.equal(same, model(x))
    shifted = {**params, "net.0.1.bias": params["net.0.1.bias"] + 1.0}
    assert not torch.allclose(functional_call(model, shifted, (x,)), same)
