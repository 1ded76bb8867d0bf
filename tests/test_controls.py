"""Style mixing, strength, colour preservation and tiled stylisation: their effects, not just that they run."""

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import smooth_photo
from metastyle.controls import apply_strength, luminance, mix_models, parse_mix, transfer_luminance
from metastyle.data import resolve_image
from metastyle.errors import MetastyleError
from metastyle.images import load_image
from metastyle.models import save_model
from metastyle.pipeline import stylize
from metastyle.tiling import stylize_tiled
from metastyle.transformer import TransformerNet


def network(seed: int) -> TransformerNet:
    torch.manual_seed(seed)
    return TransformerNet().eval()


@pytest.fixture
def two_models(tmp_path):
    return save_model(network(1), tmp_path / "a.safetensors", {}), save_model(network(2), tmp_path / "b.safetensors", {})


def test_parse_mix_checks_the_weights():
    assert parse_mix("a.safetensors:0.7, b.safetensors:0.3") == [("a.safetensors", 0.7), ("b.safetensors", 0.3)]
    assert parse_mix("C:/models/a.safetensors:1") == [("C:/models/a.safetensors", 1.0)]
    for bad, message in [("a:0.7,b:0.2", "sum to 1"), ("a:1.5,b:-0.5", "non-negative"), ("a,b", "MODEL:WEIGHT"), ("a:x", "not a number")]:
        with pytest.raises(MetastyleError, match=message):
            parse_mix(bad)


def test_mix_is_the_convex_combination_of_parameters(two_models):
    a, b = two_models
    mixed = mix_models([(a, 0.25), (b, 0.75)])
    sa, sb, sm = network(1).state_dict(), network(2).state_dict(), mixed.state_dict()
    assert all(torch.allclose(sm[k], 0.25 * sa[k] + 0.75 * sb[k]) for k in sm)
    x = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        assert torch.allclose(mix_models([(a, 1.0), (b, 0.0)])(x), network(1)(x), atol=1e-6)


def test_strength_goes_from_the_photo_to_the_full_style(tmp_path, two_models):
    photo = Image.open(smooth_photo(tmp_path / "p.png", size=(40, 30)))
    full = np.asarray(stylize(photo, model=two_models[0], device="cpu"), dtype=float)
    none = np.asarray(stylize(photo, model=two_models[0], strength=0.0, device="cpu"), dtype=float)
    half = np.asarray(stylize(photo, model=two_models[0], strength=0.5, device="cpu"), dtype=float)
    original = np.asarray(photo, dtype=float)
    assert np.abs(none - original).max() == 0
    assert np.abs(half - (original + full) / 2).max() <= 1.0
    with pytest.raises(MetastyleError, match="strength"):
        apply_strength(torch.zeros(1), torch.ones(1), 1.5)


def test_preserve_color_keeps_the_photos_chroma_and_the_styles_luminance():
    gen = torch.Generator().manual_seed(0)
    photo = 0.4 + 0.2 * torch.rand(1, 3, 16, 16, generator=gen)  # no clipping in this range
    stylized = 0.4 + 0.2 * torch.rand(1, 3, 16, 16, generator=gen)
    out = transfer_luminance(photo, stylized)
    assert torch.allclose(luminance(out), luminance(stylized), atol=1e-6)
    assert torch.allclose(out - luminance(out), photo - luminance(photo), atol=1e-6)  # Cb, Cr unchanged
    assert not torch.allclose(out, stylized)


def test_preserve_color_option_changes_colour_not_structure(tmp_path, two_models):
    photo = Image.open(smooth_photo(tmp_path / "p.png", size=(40, 30)))
    plain = torch.from_numpy(np.asarray(stylize(photo, model=two_models[0], device="cpu"), dtype=np.float32) / 255)
    kept = torch.from_numpy(np.asarray(stylize(photo, model=two_models[0], preserve_color=True, device="cpu"), dtype=np.float32) / 255)
    lum = lambda t: luminance(t.permute(2, 0, 1)[None])  # noqa: E731
    assert (lum(plain) - lum(kept)).abs().mean() < 0.02  # same luminance...
    assert (plain - kept).abs().mean() > 0.02  # ...different colours


def test_tiled_and_untiled_agree_closely():
    model = network(0)
    image = load_image(resolve_image("builtin:chelsea"), 451)  # 451x300: 4x2 tiles of 192
    with torch.inference_mode():
        whole = model(image)
    reports = []
    tiled = stylize_tiled(model, image, tile=192, overlap=64, on_tile=lambda done, tiles: reports.append((done, tiles)))
    assert reports == [(i, 8) for i in range(1, 9)]  # what a progress bar over the tiles is fed
    diff = (tiled - whole).abs()
    assert tiled.shape == whole.shape
    assert diff.mean() < 0.006  # the output itself varies with std ~0.09
    assert diff.quantile(0.999) < 0.06
    # No seam: along each tile boundary the tiled output changes no more than the untiled one.
    for x in (128, 256):
        jump_tiled = (tiled[..., x] - tiled[..., x - 1]).abs().mean()
        jump_whole = (whole[..., x] - whole[..., x - 1]).abs().mean()
        assert jump_tiled < 1.2 * jump_whole


def test_cli_mix_strength_and_errors(run_cli, tmp_path, two_models):
    a, b = two_models
    photo = smooth_photo(tmp_path / "p.png", size=(40, 30))
    out = tmp_path / "mixed.png"
    result = run_cli("stylize", photo, "-o", out, "--mix", f"{a}:0.5,{b}:0.5", "--strength", "0.7", "--preserve-color")
    assert result.returncode == 0, result.stderr
    assert Image.open(out).size == (40, 30)
    for mix, message in [(f"{a}:0.5,{b}:0.4", "sum to 1"), (f"{a}:0.5,{tmp_path / 'gone.safetensors'}:0.5", "no such model")]:
        result = run_cli("stylize", photo, "-o", tmp_path / "bad.png", "--mix", mix)
        assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
        assert not (tmp_path / "bad.png").exists()
    result = run_cli("stylize", photo, "-o", tmp_path / "bad.png", "--model", a, "--strength", "2")
    assert result.returncode == 1 and "--strength" in result.stderr
