"""Adaptation, the Johnson baseline, model files and stylisation."""

import sys
from dataclasses import replace

import pytest
import torch
from PIL import Image

from conftest import smooth_photo
from metastyle import device, pipeline
from metastyle.adapt import AdaptConfig, adapt_network, adapt_steps, default_adapt_config
from metastyle.inference import InferenceConfig
from metastyle.sampling import ImageSampler, PhotoWindows
from metastyle.errors import MetastyleError
from metastyle.images import load_image
from metastyle.losses import PerceptualLoss
from metastyle.models import load_model, read_info, save_model
from metastyle.transformer import TransformerNet, in_parameter_names, rate_sections

SMALL = AdaptConfig(steps=30, batch=2, size=24, style_size=32, lr=1e-3)


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    return [smooth_photo(folder / f"p{i}.png", size=(40, 36), seed=i) for i in range(3)]


def loss_on(model, style, photos, vgg):
    """Adaptation's own objective on fixed crops."""
    batch = ImageSampler(photos, 24, augment=False).sample(3, torch.Generator().manual_seed(9))
    loss = PerceptualLoss(vgg, style, SMALL.loss)
    with torch.no_grad():
        return loss(model(batch), loss.content_targets(batch)).total.item()


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_adaptation_lowers_the_loss(vgg, painting, photos, precision):
    torch.manual_seed(0)
    model = TransformerNet()
    style = load_image(painting, 32)
    adapted, terms = adapt_network(model, style, ImageSampler(photos, 24), replace(SMALL, precision=precision), vgg=vgg)
    assert loss_on(adapted, style, photos, vgg) < 0.3 * loss_on(model, style, photos, vgg)
    assert torch.isfinite(terms.total)


@pytest.mark.parametrize("fast", [True, False])
def test_auto_precision_is_bf16_only_where_the_machine_runs_it_fast(monkeypatch, fast):
    # On an AVX2-only CPU bf16 is emulated: an amortised meta-training iteration took 218 s against 4.3 s in fp32.
    monkeypatch.setattr(device, "fast_bf16", lambda _: fast)
    cpu = torch.device("cpu")
    assert device.resolve_precision(cpu, "auto") == ("bf16" if fast else "fp32")
    assert [device.resolve_precision(cpu, p) for p in ("fp32", "bf16")] == ["fp32", "bf16"]
    with device.autocast(cpu, "auto"):
        assert torch.is_autocast_enabled("cpu") == fast
    with pytest.raises(MetastyleError, match="precision"):
        device.resolve_precision(cpu, "fp16")


def test_instance_norm_only_adaptation_moves_only_those(vgg, painting, photos):
    torch.manual_seed(0)
    model = TransformerNet()
    style = load_image(painting, 32)
    adapted, _ = adapt_network(model, style, ImageSampler(photos, 24), replace(SMALL, params="in", lr=1e-2), vgg=vgg)
    moved = [n for (n, a), b in zip(adapted.state_dict().items(), model.state_dict().values()) if not torch.equal(a, b)]
    assert set(moved) == set(in_parameter_names(model))
    assert loss_on(adapted, style, photos, vgg) < 0.95 * loss_on(model, style, photos, vgg)


def test_each_group_moves_at_its_own_rate(vgg, painting, photos):
    # Adam's first step moves every parameter with a gradient by its learning rate.
    torch.manual_seed(0)
    model = TransformerNet()
    config = replace(SMALL, steps=1, lr=1e-4, in_lr=3e-3, residual_lr=2e-4, output_lr=5e-5, precision="fp32")
    adapted, _ = adapt_network(model, load_image(painting, 32), ImageSampler(photos, 24), config, vgg=vgg)
    before, after = model.state_dict(), adapted.state_dict()
    sections = rate_sections(model)
    assert set(sections.values()) == {"norm", "residual", "output", "other"}
    for section, rate in {"norm": 3e-3, "residual": 2e-4, "output": 5e-5, "other": 1e-4}.items():
        moved = max((after[n] - before[n]).abs().max().item() for n in sections if sections[n] == section)
        assert moved == pytest.approx(rate, rel=1e-3), section


def test_a_predicted_start_adapts_with_its_own_rates_unless_told_otherwise(tmp_path, vgg, painting, photos):
    from metastyle.predictor import StylePredictor
    from metastyle.start import PREDICTED_START_RATES, PREDICTED_START_WINDOW_RATES, RANDOM_START_WINDOW_RATES

    torch.manual_seed(0)
    save_model(TransformerNet(), tmp_path / "init.safetensors", {"kind": "meta-trained"}, predictor=StylePredictor())
    tiny = AdaptConfig(steps=1, batch=1, size=24, style_size=24)
    names = ("lr", "in_lr", "residual_lr", "output_lr")

    def settings(init, config, **content):
        content = content or {"content_dir": photos[0].parent}
        return pipeline.adapt(painting, init=init, config=config, device="cpu", vgg=vgg, **content)[1]["settings"]

    def rates(init, config, **content):
        return tuple(settings(init, config, **content)[name] for name in names)

    def expected(rates: dict[str, float]) -> tuple[float, ...]:
        return tuple(rates.get(name, rates["lr"]) for name in names)

    own, on_windows = PREDICTED_START_RATES, PREDICTED_START_WINDOW_RATES
    assert rates(tmp_path / "init.safetensors", tiny) == expected(own)
    assert rates(tmp_path / "init.safetensors", tiny, photos=[photos[0]]) == expected(on_windows)
    assert len(set(expected(on_windows))) == 4  # on windows every section has a rate of its own
    assert rates("random", tiny, photos=[photos[0]]) == (RANDOM_START_WINDOW_RATES["lr"],) * 4 != (1e-3,) * 4  # Johnson's best there
    assert rates(tmp_path / "init.safetensors", replace(tiny, lr=1e-3)) == (1e-3, own["in_lr"], 1e-3, 1e-3)
    assert rates(tmp_path / "init.safetensors", replace(tiny, output_lr=2e-5), photos=[photos[0]]) == (*expected(on_windows)[:3], 2e-5)
    assert rates(tmp_path / "init.safetensors", replace(tiny, lr=1e-3), photos=[photos[0]]) == (1e-3, on_windows["in_lr"], 1e-3, 1e-3)
    assert rates("random", tiny) == (1e-3,) * 4  # the reference's: Johnson et al.'s baseline keeps them
    assert rates("random", replace(tiny, lr=3e-3)) == (3e-3,) * 4
    # Steps on the style code: a predicted start's own on crops, none from a random start, 0 turns them off
    assert settings(tmp_path / "init.safetensors", tiny)["code_lr"] == own["code_lr"] > 0
    assert settings(tmp_path / "init.safetensors", replace(tiny, code_lr=0.0))["code_lr"] == settings("random", tiny)["code_lr"] == 0
    assert default_adapt_config(torch.device("cuda")).with_rates(own).code_lr == 0  # CUDA's 200 steps: none, unmeasured
    # Adam's momentum: the start's own on windows, the reference's 0.9 on crops and from a random start
    assert settings(tmp_path / "init.safetensors", tiny, photos=[photos[0]])["beta1"] == on_windows["beta1"] != 0.9
    assert settings(tmp_path / "init.safetensors", tiny)["beta1"] == settings("random", tiny, photos=[photos[0]])["beta1"] == 0.9
    assert settings(tmp_path / "init.safetensors", replace(tiny, beta1=0.5), photos=[photos[0]])["beta1"] == 0.5
    # The start's momentum was chosen at the CPU's 12 steps; longer budgets (CUDA's 200) move it to the reference's 0.9
    for kind, momentum in (("cpu", on_windows["beta1"]), ("cuda", 0.9)):
        assert default_adapt_config(torch.device(kind)).with_rates(on_windows).beta1 == momentum
    momenta = [AdaptConfig(steps=steps).with_rates(on_windows).beta1 for steps in (1, 12, 24, 48, 100)]
    assert momenta == pytest.approx([0.7, 0.7, 0.8, 0.9, 0.9])
    assert settings(tmp_path / "init.safetensors", replace(tiny, steps=24), photos=[photos[0]])["beta1"] == pytest.approx(0.8)
    assert AdaptConfig(steps=100, beta1=0.7).with_rates(on_windows).beta1 == 0.7  # one given holds at any budget


def test_adam_takes_the_momentum_given(vgg, painting, photos, monkeypatch):
    made = []

    class Spy(torch.optim.Adam):
        def __init__(self, params, **kwargs):
            made.append(kwargs)
            super().__init__(params, **kwargs)

    monkeypatch.setattr(torch.optim, "Adam", Spy)
    adapt_network(TransformerNet(), load_image(painting, 32), ImageSampler(photos, 24), replace(SMALL, steps=1, beta1=0.7), vgg=vgg)
    assert made == [{"betas": (0.7, 0.999)}]
    with pytest.raises(MetastyleError, match="beta1"):
        replace(SMALL, beta1=1.0)


def test_a_window_that_repeats_is_seen_by_vgg_once_and_adapts_as_before(vgg, painting, photos, monkeypatch):
    style, small, other = load_image(painting, 32), load_image(photos[0], 24), load_image(photos[1], 24)
    calls = []
    fresh = PerceptualLoss.content_targets

    def counted(self, content):
        calls.append(content.shape)
        return fresh(self, content)

    def adapted(batches):
        torch.manual_seed(0)
        model = TransformerNet()
        adapt_steps(model, PerceptualLoss(vgg, style, SMALL.loss), batches, replace(SMALL, steps=len(batches)))
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    # A photo no larger than the window: every step's window is the whole photo, equal but not the same tensor
    windows = PhotoWindows([small], 24)
    batches = [windows.sample(1, torch.Generator().manual_seed(i)) for i in range(4)]
    with monkeypatch.context() as m:  # every step's own targets, as adaptation did before
        m.setattr(sys.modules["metastyle.adapt"], "_repeat_aware_targets", lambda loss_fn: loss_fn.content_targets)
        every_step = adapted(batches)
    monkeypatch.setattr(PerceptualLoss, "content_targets", counted)
    assert torch.equal(adapted(batches), every_step)
    assert len(calls) == 1
    calls.clear()
    adapted([small, other, other.clone(), small])  # a batch that changes is seen again
    assert len(calls) == 3


def test_model_file_round_trip_with_metadata(tmp_path):
    torch.manual_seed(0)
    model = TransformerNet()
    path = save_model(model, tmp_path / "m.safetensors", {"style": "x", "steps": 3})
    loaded, info = load_model(path)
    assert info["style"] == "x" and info["steps"] == 3 and "version" in info
    x = torch.rand(1, 3, 16, 16)
    assert torch.equal(loaded(x), model.eval()(x))
    half = save_model(model, tmp_path / "h.safetensors", {}, half=True)
    assert half.stat().st_size < 0.6 * path.stat().st_size
    assert torch.allclose(load_model(half)[0](x), model(x), atol=1e-2)


def test_corrupt_model_files_are_refused(tmp_path):
    torch.manual_seed(0)
    good = save_model(TransformerNet(), tmp_path / "good.safetensors", {})
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 100)
    (tmp_path / "cut.safetensors").write_bytes(good.read_bytes()[:5000])
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, tmp_path / "other.safetensors")
    for name, message in [("junk", "not a model file"), ("cut", "corrupt"), ("other", "not a metastyle model"), ("none", "no such model")]:
        with pytest.raises(MetastyleError, match=message):
            load_model(tmp_path / f"{name}.safetensors")


def test_stylize_cli_keeps_size_and_refuses_corrupt_models(run_cli, tmp_path):
    torch.manual_seed(0)
    model = save_model(TransformerNet(), tmp_path / "m.safetensors", {})
    odd = smooth_photo(tmp_path / "odd.png", size=(37, 21))
    result = run_cli("stylize", odd, "-o", tmp_path / "out.png", "--model", model)
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "out.png").size == (37, 21)
    result = run_cli("stylize", odd, "-o", tmp_path / "small.jpg", "--model", model, "--size", "20")
    assert Image.open(tmp_path / "small.jpg").size == (20, 11)
    (tmp_path / "bad.safetensors").write_bytes(b"garbage")
    result = run_cli("stylize", odd, "-o", tmp_path / "x.png", "--model", tmp_path / "bad.safetensors")
    assert result.returncode == 1 and "Traceback" not in result.stderr and "not a model file" in result.stderr


def test_stylize_folder_into_folder(run_cli, tmp_path, photos):
    torch.manual_seed(0)
    model = save_model(TransformerNet(), tmp_path / "m.safetensors", {})
    result = run_cli("stylize", photos[0].parent, "-o", tmp_path / "out", "--model", model)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p0.png", "p1.png", "p2.png"]


def test_stylize_never_loses_a_result_or_an_input(run_cli, tmp_path, painting):
    torch.manual_seed(0)
    model = save_model(TransformerNet(), tmp_path / "m.safetensors", {})
    for folder in ("c1", "c2"):
        (tmp_path / folder).mkdir()
        smooth_photo(tmp_path / folder / "a.png", size=(20, 16))
    smooth_photo(tmp_path / "a-1.png", size=(24, 12))
    result = run_cli("stylize", tmp_path / "c1" / "a.png", tmp_path / "c2" / "a.png", tmp_path / "a-1.png", "-o", tmp_path / "out", "--model", model)
    assert result.returncode == 0, result.stderr  # two inputs named a and one named a-1: three results, none written twice
    assert sorted((p.name, Image.open(p).size) for p in (tmp_path / "out").iterdir()) == [
        ("a-0.png", (20, 16)), ("a-1.png", (24, 12)), ("a-2.png", (20, 16))]
    before = painting.read_bytes()
    result = run_cli("stylize", tmp_path / "a-1.png", "-o", painting, "--style", painting, "--overwrite")
    assert result.returncode == 1 and "is an input file" in result.stderr and painting.read_bytes() == before
    disguised = tmp_path / "m.png"  # a model file whose name is an image's
    disguised.write_bytes(model.read_bytes())
    for source in (["--model", disguised], ["--mix", f"{disguised}:0.5,{model}:0.5"]):
        result = run_cli("stylize", tmp_path / "a-1.png", "-o", disguised, *source, "--overwrite")
        assert result.returncode == 1 and "is an input file" in result.stderr and disguised.read_bytes() == model.read_bytes()
    result = run_cli("stylize", tmp_path / "a-1.png", "-o", tmp_path / "x.gif", "--model", model)
    assert result.returncode == 1 and "unsupported output extension '.gif'" in result.stderr
    for tile in ("2", "-3"):
        result = run_cli("stylize", tmp_path / "a-1.png", "-o", tmp_path / "t.png", "--model", model, "--tile", tile)
        assert result.returncode == 1 and "tile must be 0 (never) or at least 64 px" in result.stderr and "Traceback" not in result.stderr


def test_the_python_api_never_writes_over_the_painting_or_an_existing_model(tmp_path, painting):
    before = painting.read_bytes()
    with pytest.raises(MetastyleError, match="unsupported output extension"):
        pipeline.adapt(painting, output=painting, init="random", config=SMALL, device="cpu")
    copy = tmp_path / "painting.safetensors"
    copy.write_bytes(before)
    with pytest.raises(MetastyleError, match="is an input file"):
        pipeline.adapt(copy, output=copy, init="random", config=SMALL, device="cpu", overwrite=True)
    existing = tmp_path / "kept.safetensors"
    existing.write_bytes(b"precious")
    with pytest.raises(MetastyleError, match="already exists"):
        pipeline.adapt(painting, output=existing, init="random", config=SMALL, device="cpu")
    assert painting.read_bytes() == before and existing.read_bytes() == b"precious"


def test_adapt_and_train_style_cli_write_models_with_metadata(run_cli, tmp_path, painting, photos):
    common = ["--steps", "3", "--size", "24", "--style-size", "24", "--batch", "2", "--content-dir", photos[0].parent]
    result = run_cli("adapt", painting, "-o", tmp_path / "a.safetensors", *common)
    assert result.returncode == 0, result.stderr
    assert "initialisation: " in result.stdout and "metastyle-small.safetensors (meta-trained" in result.stdout  # the CPU's shipped start
    info = read_info(tmp_path / "a.safetensors")
    assert info["steps"] == 3 and info["style"] == "painting.png" and len(info["style_sha256"]) == 64
    assert set(info["final_losses"]) == {"content", "style", "total"}
    result = run_cli("adapt", painting, "-o", tmp_path / "b.safetensors", "--init", tmp_path / "a.safetensors", *common)
    assert result.returncode == 0 and "a.safetensors" in result.stdout
    result = run_cli("train-style", painting, "-o", tmp_path / "j.safetensors", *common)
    assert result.returncode == 0 and read_info(tmp_path / "j.safetensors")["kind"] == "johnson"
    result = run_cli("adapt", painting, "-o", tmp_path / "a.safetensors", *common)
    assert result.returncode == 1 and "already exists" in result.stderr
    result = run_cli("adapt", painting, "-o", painting / "m.safetensors", *common)
    assert result.returncode == 1 and "cannot write here" in result.stderr
    result = run_cli("adapt", painting, "-o", tmp_path / "m.pt", *common)
    assert result.returncode == 1 and "unsupported output extension" in result.stderr


def test_style_adaptation_is_cached_by_hash(tmp_path, painting, photos, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    calls = []
    real = pipeline.adapt_network
    monkeypatch.setattr(pipeline, "adapt_network", lambda *a, **k: calls.append(1) or real(*a, **k))
    config = AdaptConfig(steps=2, batch=1, size=24, style_size=24)
    first = pipeline.cached_adaptation(painting, "random", config, "cpu", progress=False)
    second = pipeline.cached_adaptation(painting, "random", config, "cpu", progress=False)
    assert len(calls) == 1
    x = torch.rand(1, 3, 16, 16)
    assert torch.allclose(first(x), second(x))
    assert len(list((tmp_path / "cache" / "metastyle" / "adapted").glob("*.safetensors"))) == 1
    pipeline.cached_adaptation(painting, "random", AdaptConfig(steps=3, batch=1, size=24, style_size=24), "cpu", progress=False)
    assert len(calls) == 2  # other settings, another adaptation


def test_python_api_stylize(tmp_path):
    torch.manual_seed(0)
    model = TransformerNet()
    image = Image.new("RGB", (30, 14), (200, 10, 10))
    out = pipeline.stylize(image, model=model, device="cpu")
    assert out.size == (30, 14) and out.mode == "RGB"
    with pytest.raises(ValueError):
        pipeline.stylize(image, device="cpu")


def test_photo_windows_are_pieces_of_the_photos_as_they_are():
    tall, wide = torch.rand(1, 3, 50, 40), torch.rand(1, 3, 30, 60)
    windows = PhotoWindows([tall, wide], 32)
    batch = windows.sample(8, torch.Generator().manual_seed(0))
    assert batch.shape == (8, 3, 30, 32)  # one shape for the batch: the smaller photo's height, the crop's width

    def found(window):
        for photo in (tall, wide):
            for top in range(photo.shape[-2] - 30 + 1):
                for left in range(photo.shape[-1] - 32 + 1):
                    piece = photo[0, :, top : top + 30, left : left + 32]
                    if torch.equal(piece, window):
                        return photo
        return None

    sources = [found(w) for w in batch]
    assert all(s is not None for s in sources)  # no scaling, no interpolation, no mirror: the photo's own pixels
    assert any(s is tall for s in sources) and any(s is wide for s in sources)
    assert torch.equal(batch, windows.sample(8, torch.Generator().manual_seed(0)))
    with pytest.raises(MetastyleError, match="at least one photo"):
        PhotoWindows([], 32)


def test_smaller_windows_take_as_many_more_steps_as_keep_the_pixels():
    config = AdaptConfig(steps=12, size=256, batch=1)
    assert config.for_content(PhotoWindows([torch.rand(1, 3, 144, 256)], 256)).steps == 21  # 12 x 256^2 // (144 x 256)
    assert config.for_content(PhotoWindows([torch.rand(1, 3, 300, 400)], 256)).steps == 12  # full-size windows
    assert config.for_content(ImageSampler([], 256)).steps == 12  # crops are always full size


def test_windows_of_the_photo_weight_the_content_less_unless_the_loss_was_given():
    from metastyle.adapt import ADAPT_LOSS, WINDOW_LOSS

    windows, crops = PhotoWindows([torch.rand(1, 3, 256, 256)], 256), ImageSampler([], 256)
    default = AdaptConfig(steps=12, size=256, batch=1)
    assert default.for_content(windows).loss is WINDOW_LOSS and default.for_content(crops).loss is ADAPT_LOSS
    assert WINDOW_LOSS.content_weight < ADAPT_LOSS.content_weight and WINDOW_LOSS.content_balance < ADAPT_LOSS.content_balance
    given = replace(default, loss=replace(ADAPT_LOSS, content_weight=80.0))  # asked for, if equal to the default
    assert given.for_content(windows).loss.content_weight == 80.0
    assert default.for_content(windows).for_content(windows).loss is WINDOW_LOSS


def test_the_adaptation_cache_tells_a_given_loss_from_the_default(tmp_path, painting, monkeypatch):
    from metastyle.adapt import ADAPT_LOSS

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    calls = []

    def adapt(style, **k):  # writes the cache entry as the real one does
        calls.append(k["config"])
        return save_model(TransformerNet(), k["output"], {"kind": "adapted"}), {}

    monkeypatch.setattr(pipeline, "adapt", adapt)
    photo = [torch.rand(1, 3, 24, 24)]
    default = AdaptConfig(steps=1, size=16, batch=1, style_size=16)
    for config in (default, default, replace(default, loss=replace(ADAPT_LOSS))):
        pipeline.cached_adaptation(painting, "random", config, "cpu", False, photos=photo)
    assert [c.loss is ADAPT_LOSS for c in calls] == [True, False]  # the second default is cached; the given loss is not


def test_stylize_with_a_style_adapts_on_that_photo_as_the_network_sees_it(tmp_path, painting, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    seen = []
    real = pipeline.adapt_network
    monkeypatch.setattr(pipeline, "adapt_network", lambda model, style, content, *a, **k: seen.append(content) or real(model, style, content, *a, **k))
    photo, other = Image.open(smooth_photo(tmp_path / "a.png", size=(40, 36), seed=1)), Image.open(smooth_photo(tmp_path / "b.png", size=(40, 36), seed=2))
    inference = InferenceConfig(work_size=20)
    first = pipeline.stylize(photo, style=painting, device="cpu", inference=inference)
    assert len(seen) == 1 and isinstance(seen[0], PhotoWindows)
    [adapted_on] = seen[0].photos
    assert adapted_on.shape == (1, 3, 18, 20)  # at the network's working size, not the output's
    assert torch.allclose(adapted_on, pipeline.at_work_size(load_image(tmp_path / "a.png"), 20))
    assert first.size == (40, 36)
    pipeline.stylize(photo, style=painting, device="cpu", inference=inference)
    assert len(seen) == 1  # the same photo and painting: the cached adaptation
    pipeline.stylize(other, style=painting, device="cpu", inference=inference)
    assert len(seen) == 2  # another photo: adapted on it
    monkeypatch.setattr(pipeline, "ADAPTATION_RECIPE", pipeline.ADAPTATION_RECIPE + 1)
    pipeline.stylize(other, style=painting, device="cpu", inference=inference)
    assert len(seen) == 3  # adaptation changed: the cached network of the older recipe is not used
    _, info = pipeline.adapt(painting, config=replace(SMALL, steps=1), device="cpu")
    assert isinstance(seen[-1], ImageSampler) and info["content"] == "crops of the built-in photos"
    _, info = pipeline.adapt(painting, photos=[tmp_path / "a.png", other], config=replace(SMALL, steps=1), device="cpu")
    assert [p.shape for p in seen[-1].photos] == [(1, 3, 36, 40)] * 2 and info["content"] == "windows of the 2 photos stylised"
    progress = []
    _, info = pipeline.adapt(painting, photos=[adapted_on], config=replace(SMALL, steps=2), device="cpu",
                             on_progress=lambda step, steps: progress.append((step, steps)))
    assert info["steps"] == 3 and progress == [(1, 3), (2, 3), (3, 3)]  # 18x20 windows: the pixels of 2 steps of 24 px crops
