"""The small network: its width in model files and mixes, and the start distilled from a full one."""

from dataclasses import replace

import pytest
import torch

from metastyle.controls import mix_models
from metastyle.distill import DistillConfig, _student, distill, distill_loss
from metastyle.errors import MetastyleError
from metastyle.meta import meta_train
from metastyle.models import load_model, load_predictor, read_info, save_model
from metastyle.images import load_image
from metastyle.predictor import StylePredictor, painting_statistics, start_for
from metastyle.start import load_start
from metastyle.transformer import TransformerNet, count_parameters, in_parameter_count

from conftest import smooth_photo, stripes
from test_predictor import AMORTISED

TINY = DistillConfig(iters=2, width=8, size=16, paintings=2, batch=2, checkpoint_every=1, precision="fp32")


def test_half_the_width_is_about_a_quarter_of_the_network():
    full, small = TransformerNet(), TransformerNet(16)
    assert 0.24 < count_parameters(small) / count_parameters(full) < 0.26
    assert in_parameter_count(full) == 3200 and in_parameter_count(small) == 1600
    assert small(torch.rand(1, 3, 20, 28)).shape == (1, 3, 20, 28)


def test_model_files_keep_the_width_and_mixes_need_one(tmp_path):
    torch.manual_seed(0)
    small = TransformerNet(16)
    save_model(small, tmp_path / "small.safetensors", {"kind": "adapted"})
    save_model(TransformerNet(), tmp_path / "full.safetensors", {"kind": "adapted"})
    loaded = load_model(tmp_path / "small.safetensors")[0]
    photo = torch.rand(1, 3, 24, 24)
    assert loaded.width == 16 and torch.equal(loaded(photo), small.eval()(photo))
    assert mix_models([(tmp_path / "small.safetensors", 0.5), (loaded, 0.5)]).width == 16
    with pytest.raises(MetastyleError, match="models of one size"):
        mix_models([(tmp_path / "small.safetensors", 0.5), (tmp_path / "full.safetensors", 0.5)])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """The `folders` fixture's tiny training set, made once for the module."""
    styles, photos = (tmp_path_factory.mktemp(name) for name in ("styles", "photos"))
    for i in range(3):
        stripes(styles / f"s{i}.png", size=(24 + 8 * i, 40))
    for i in range(6):
        smooth_photo(photos / f"p{i}.png", size=(40, 32 + 4 * i), seed=i)
    return styles, photos


@pytest.fixture(scope="module")
def teacher(data, tmp_path_factory):
    """A full-width start with a style predictor, meta-trained for a few iterations."""
    run = tmp_path_factory.mktemp("teacher")
    meta_train(*data, run, replace(AMORTISED, iters=2))
    return run / "model.safetensors"


def test_the_student_takes_the_teachers_encoder_and_a_zero_head(teacher):
    start = load_start(teacher)
    student, predictor = _student(start, TINY, torch.device("cpu"))
    assert student.width == 8 and predictor.head.out_features == in_parameter_count(student)
    assert torch.equal(predictor.encoder[0].weight, start.predictor.encoder[0].weight)
    assert torch.equal(predictor.center, start.predictor.center)
    assert not predictor.head.weight.any()


def test_distillation_lowers_its_loss_and_writes_a_small_start_that_resumes(data, teacher, tmp_path, vgg):
    run = tmp_path / "small"
    distill(*data, run, replace(TINY, iters=1), teacher_path=teacher)
    distill(*data, run, replace(TINY, iters=15), teacher_path=teacher, resume=True)
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 15
    small, predictor = load_start(run / "model.safetensors").network, load_predictor(run / "model.safetensors")
    assert small.width == 8 and predictor is not None
    # On fixed paintings and photos, the taught start is closer to the teacher's than the untaught one.
    start = load_start(teacher)
    photos = torch.cat([load_image(p, 24)[..., :12, :16] for p in sorted(data[1].iterdir())[:2]])
    tasks = [(painting_statistics(vgg, load_image(p, 64)), photos) for p in sorted(data[0].iterdir())]
    before = distill_loss(*_student(start, TINY, torch.device("cpu")), start, tasks).item()
    assert distill_loss(small, predictor, start, tasks).item() < 0.8 * before
    info = read_info(run / "model.safetensors")
    assert [stage["kind"] for stage in info["stages"]] == ["meta-trained", "distilled"] and info["iterations"] == 15
    assert start_for(small, predictor, vgg, torch.rand(1, 3, 64, 64)).width == 8
    with pytest.raises(MetastyleError, match="other settings"):
        distill(*data, run, replace(TINY, iters=16, width=4), teacher_path=teacher, resume=True)


def test_a_teacher_needs_a_predictor(data, tmp_path):
    save_model(TransformerNet(), tmp_path / "plain.safetensors", {"kind": "adapted"})
    with pytest.raises(MetastyleError, match="needs a style predictor"):
        distill(*data, tmp_path / "run", TINY, teacher_path=tmp_path / "plain.safetensors")


def test_distill_loss_is_zero_for_the_teacher_itself(teacher):
    start = load_start(teacher)
    statistics = torch.rand(1, start.predictor.center.numel())
    photos = torch.rand(2, 3, 16, 16)
    assert distill_loss(start.network, start.predictor, start, [(statistics, photos)]).item() == 0.0
    other = StylePredictor(in_parameter_count(start.network))
    torch.nn.init.normal_(other.head.weight, std=0.1)
    assert distill_loss(start.network, other, start, [(statistics, photos)]).item() > 1e-4


@pytest.mark.parametrize("settings", [{"width": 0}, {"iters": 0}, {"precision": "fp8"}])
def test_distill_settings_are_checked(settings):
    with pytest.raises(MetastyleError):
        DistillConfig(**settings)
