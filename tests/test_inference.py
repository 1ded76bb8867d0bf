"""The stylisation engine: precision, when it compiles, the fallback, the working size."""

from __future__ import annotations

import os

import pytest
import torch

from metastyle.errors import MetastyleError
from metastyle.inference import InferenceConfig, Stylizer, work_shape
from metastyle.transformer import TransformerNet

EAGER32 = InferenceConfig(precision="fp32", engine="eager")


@pytest.fixture(scope="module")
def network() -> TransformerNet:
    torch.manual_seed(0)
    return TransformerNet().eval()


@pytest.fixture
def photo() -> torch.Tensor:
    return torch.rand(1, 3, 40, 52, generator=torch.Generator().manual_seed(1))


class CountingCompile:
    """Stands in for torch.compile: records the calls and runs the network eagerly (or fails)."""

    def __init__(self, fail: bool = False) -> None:
        self.calls, self.runs, self.fail = 0, 0, fail

    def __call__(self, module: torch.nn.Module, **options: object):
        self.calls += 1
        assert options == {"dynamic": False}

        def run(x: torch.Tensor) -> torch.Tensor:
            self.runs += 1
            if self.fail:
                raise RuntimeError("no C++ compiler\nmore detail")
            return module(x)
        return run


def test_fp32_eager_is_the_network_itself(network: TransformerNet, photo: torch.Tensor) -> None:
    with torch.inference_mode():
        expected = network(photo)
    assert torch.equal(Stylizer(network, EAGER32)(photo), expected)


def test_bf16_output_is_float32_close_to_fp32_and_not_in_bf16_steps(network: TransformerNet, photo: torch.Tensor) -> None:
    reference = Stylizer(network, EAGER32)(photo)
    fast = Stylizer(network, InferenceConfig(precision="bf16", engine="eager"))(photo)
    assert fast.dtype == torch.float32 and fast.shape == photo.shape
    assert (fast - reference).abs().max() < 0.02
    # bf16 has 8 significant bits: outputs in [0.5, 1) would take at most 128 values.
    upper = fast[fast >= 0.5]
    assert upper.numel() > 1000 and upper.unique().numel() > 256


def test_auto_engine_compiles_a_size_when_it_repeats(network: TransformerNet, photo: torch.Tensor, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    fake = CountingCompile()
    monkeypatch.setattr(torch, "compile", fake)
    stylizer = Stylizer(network, InferenceConfig(precision="fp32"))
    first = stylizer(photo)
    assert (fake.calls, fake.runs) == (0, 0)  # a single photo never pays for a compilation
    assert torch.equal(stylizer(photo), first)
    stylizer(torch.rand(1, 3, 24, 24))  # a new size runs eagerly
    stylizer(photo)
    assert (fake.calls, fake.runs) == (1, 2)  # compiled once, reused
    assert str(tmp_path) in os.environ["TORCHINDUCTOR_CACHE_DIR"]


def test_a_failing_compiler_falls_back_to_eager_with_a_warning(network: TransformerNet, photo: torch.Tensor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch, "compile", CountingCompile(fail=True))
    stylizer = Stylizer(network, InferenceConfig(precision="fp32", engine="compiled"))
    with pytest.warns(UserWarning, match=r"torch.compile failed \(no C\+\+ compiler\); running without it"):
        result = stylizer(photo)
    assert torch.equal(result, Stylizer(network, EAGER32)(photo))
    assert stylizer.config.engine == "eager"


def test_compiled_engine_matches_eager(network: TransformerNet, photo: torch.Tensor, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """The real inductor, once (it needs a C++ compiler, which the project's machines have)."""
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    torch._dynamo.reset()
    compiled = Stylizer(network, InferenceConfig(precision="fp32", engine="compiled"))
    with torch.inference_mode():
        expected = network(photo)
    assert (compiled(photo) - expected).abs().max() < 1e-5
    assert any((tmp_path / "inductor").iterdir())  # its code went to the cache folder


def test_work_size_runs_the_network_smaller_and_returns_the_full_size(network: TransformerNet, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    network.register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape[-2:])))
    photo = torch.rand(1, 3, 60, 90)
    result = Stylizer(network, InferenceConfig(precision="fp32", engine="eager", work_size=30))(photo)
    network._forward_pre_hooks.clear()
    assert seen == [(20, 30)] and result.shape == photo.shape
    assert 0 <= result.min() and result.max() <= 1


def test_work_shape() -> None:
    assert work_shape(60, 90, 0) == (60, 90)
    assert work_shape(60, 90, 120) == (60, 90)  # never scaled up
    assert work_shape(300, 400, 200) == (150, 200)
    assert work_shape(10, 400, 100) == (TransformerNet.MIN_SIDE, 100)


@pytest.mark.parametrize("settings, message", [
    ({"engine": "fast"}, "engine must be one of 'auto', 'eager', 'compiled', got 'fast'"),
    ({"precision": "int4"}, "precision must be one of"),
    ({"work_size": 4}, "work size must be 0 \\(off\\) or at least 8 pixels, got 4"),
    ({"work_size": -1}, "work size must be 0"),
])
def test_settings_are_checked(settings: dict, message: str) -> None:
    with pytest.raises(MetastyleError, match=message):
        InferenceConfig(**settings)


def test_stylize_takes_the_engine_settings_and_refuses_bad_ones(run_cli, tmp_path, network):
    from conftest import smooth_photo
    from metastyle.models import save_model

    model = save_model(network, tmp_path / "m.safetensors", {"kind": "adapted"})
    photo = smooth_photo(tmp_path / "p.png", size=(64, 48))
    result = run_cli("stylize", photo, "-o", tmp_path / "out.png", "--model", model, "--precision", "fp32", "--engine", "eager",
                     "--work-size", "32")
    assert result.returncode == 0, result.stderr
    from PIL import Image
    assert Image.open(tmp_path / "out.png").size == (64, 48)
    result = run_cli("stylize", photo, "-o", tmp_path / "bad.png", "--model", model, "--work-size", "3")
    assert result.returncode == 1 and result.stderr.strip() == "metastyle: error: work size must be 0 (off) or at least 8 pixels, got 3"
    assert not (tmp_path / "bad.png").exists()


def test_the_shipped_small_start_is_a_quarter_network_with_a_predictor():
    from metastyle.models import read_info
    from metastyle.start import SMALL_MODEL, load_start

    small = load_start("small")
    assert small.network.width == 16 and small.predictor is not None
    stages = read_info(SMALL_MODEL)["stages"]
    assert f"in {len(stages)} stages, the last {stages[-1]['iterations']} iterations, conditioned on the painting" in small.description
