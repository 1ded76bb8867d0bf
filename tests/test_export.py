import json
from pathlib import Path

import pytest
import torch

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxscript")
pytest.importorskip("onnxruntime")

from metastyle.errors import MetastyleError
from metastyle.export import TRACE_SHAPE, check_onnx, export_onnx
from metastyle.transformer import TransformerNet

INFO = {"style": "stripes", "steps": 3, "losses": {"style": 1.5}}


@pytest.fixture(scope="module")
def model() -> TransformerNet:
    torch.manual_seed(0)
    return TransformerNet().eval()


@pytest.fixture(scope="module")
def exported(model: TransformerNet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export for the module: tracing takes seconds."""
    return export_onnx(model, tmp_path_factory.mktemp("onnx") / "model.onnx", info=INFO)


def test_onnx_matches_pytorch_at_sizes_it_was_not_traced_at(model, exported):
    # A multiple of 4 (no pad), odd sizes (reflection) and a tiny one (replication): one graph for all.
    sizes = ((20, 28), (33, 17), (3, 6))
    assert all(size != TRACE_SHAPE[2:] for size in sizes)
    assert check_onnx(model, exported, sizes=sizes) < 1e-4


def test_the_file_is_self_contained_and_carries_the_metadata(exported):
    assert [p.name for p in exported.parent.iterdir()] == ["model.onnx"]  # no external data, no temp file
    props = {p.key: p.value for p in onnx.load(exported).metadata_props}
    assert json.loads(props["metastyle"]) == INFO


def test_unwritable_output_path_is_a_clear_error(model, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(MetastyleError, match="cannot write the ONNX file"):
        export_onnx(model, blocker / "model.onnx")


def test_a_file_that_is_not_onnx_is_a_clear_error(model, tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"not a protobuf")
    with pytest.raises(MetastyleError, match="onnxruntime cannot load it"):
        check_onnx(model, path, sizes=((8, 8),))


def test_export_command_writes_a_checked_file_and_refuses_to_overwrite(run_cli, tmp_path, model):
    from metastyle.models import save_model

    save_model(model, tmp_path / "m.safetensors", {"style": "stripes"})
    result = run_cli("export", tmp_path / "m.safetensors", "-o", tmp_path / "m.onnx")
    assert result.returncode == 0, result.stderr
    assert "largest difference from PyTorch" in result.stdout and (tmp_path / "m.onnx").is_file()
    again = run_cli("export", tmp_path / "m.safetensors", "-o", tmp_path / "m.onnx")
    assert again.returncode == 1 and "already exists" in again.stderr
