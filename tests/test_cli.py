"""The command line as a user meets it: exit status, one-line errors, no tracebacks, nothing lost."""

import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from conftest import png_with_size


def assert_clean_failure(result, message):
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("metastyle: error:"), result.stderr
    assert message in lines[0]


def bad_inputs(tmp_path, photo):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "notes.png").write_text("not an image")
    data = photo.read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    return {
        "missing": (tmp_path / "missing.png", "no such file"),
        "not an image": (tmp_path / "notes.png", "not an image"),
        "truncated": (tmp_path / "cut.png", "truncated or corrupt"),
        "zero-sized": (tmp_path / "empty.jpg", "empty"),
        "bomb": (png_with_size(tmp_path / "bomb.png", 12_000, 12_000), "over the limit"),
        "huge bomb": (png_with_size(tmp_path / "huge.png", 50_000, 50_000), "pixel limit"),
        "unknown builtin": ("builtin:no-such-painting", "no built-in image"),
    }


@pytest.mark.parametrize("case", ["missing", "not an image", "truncated", "zero-sized", "bomb", "huge bomb", "unknown builtin"])
def test_gatys_bad_content_and_style(run_cli, tmp_path, photo, painting, case):
    bad, message = bad_inputs(tmp_path, photo)[case]
    assert_clean_failure(run_cli("gatys", bad, painting, "-o", tmp_path / "out.png", "--steps", "1"), message)
    assert_clean_failure(run_cli("gatys", photo, bad, "-o", tmp_path / "out.png", "--steps", "1"), message)
    assert not (tmp_path / "out.png").exists()


def test_unwritable_output(run_cli, tmp_path, photo, painting):
    result = run_cli("gatys", photo, painting, "-o", photo / "x.png", "--steps", "1")
    assert_clean_failure(result, "cannot write here")


def test_never_overwrites_an_input_or_an_existing_file(run_cli, tmp_path, photo, painting):
    before = photo.read_bytes()
    assert_clean_failure(run_cli("gatys", photo, painting, "-o", photo, "--steps", "1", "--overwrite"), "is an input file")
    assert_clean_failure(run_cli("gatys", photo, painting, "-o", photo, "--steps", "1"), "is an input file")
    assert photo.read_bytes() == before
    existing = tmp_path / "kept.png"
    existing.write_bytes(b"precious")
    assert_clean_failure(run_cli("gatys", photo, painting, "-o", existing, "--steps", "1"), "already exists")
    assert existing.read_bytes() == b"precious"


def test_bad_extension_and_device(run_cli, tmp_path, photo, painting):
    assert_clean_failure(run_cli("gatys", photo, painting, "-o", tmp_path / "out.bmp"), "unsupported output extension")
    result = run_cli("gatys", photo, painting, "-o", tmp_path / "o.png", "--device", "cuda:7")
    assert_clean_failure(result, "cuda:7")


def test_gatys_writes_the_image_and_reports_losses(run_cli_process, tmp_path, photo, painting):
    """End to end, in a process of its own, as a user runs it."""
    out = tmp_path / "nested" / "result.webp"
    result = run_cli_process("gatys", photo, painting, "-o", out, "--steps", "5", "--size", "32")
    assert result.returncode == 0, result.stderr
    assert "content loss" in result.stdout and "style loss" in result.stdout
    assert f"wrote {out}" in result.stdout
    with Image.open(out) as image:
        assert image.format == "WEBP" and max(image.size) == 32


def test_score_prints_json_and_ranks_a_stylised_image(run_cli, tmp_path, photo, painting):
    same = json.loads(run_cli("score", photo, painting, photo, "--size", "48").stdout)
    assert set(same) == {"content_loss", "style_loss"}
    assert same["content_loss"] == pytest.approx(0.0, abs=1e-3)
    styled = tmp_path / "styled.png"
    assert run_cli("gatys", photo, painting, "-o", styled, "--steps", "30", "--size", "48").returncode == 0
    after = json.loads(run_cli("score", photo, painting, styled, "--size", "48").stdout)
    assert after["style_loss"] < same["style_loss"] / 5
    assert after["content_loss"] > 0


def test_score_bad_input(run_cli, tmp_path, photo, painting):
    assert_clean_failure(run_cli("score", photo, painting, tmp_path / "nope.png"), "no such file")


def test_list_builtins(run_cli):
    result = run_cli("list-builtins", "--kind", "photo")
    assert result.returncode == 0 and "astronaut" in result.stdout and "painting" not in result.stdout
    listed = json.loads(run_cli("list-builtins", "--json").stdout)
    assert sum(item["kind"] == "painting" for item in listed) == 174


def test_usage_errors_exit_non_zero(run_cli, run_cli_process):
    assert run_cli().returncode == 2
    assert run_cli("gatys", "only-one-arg").returncode == 2
    assert run_cli_process("gatys", "only-one-arg").returncode == 2


def test_bench_loss_options_change_the_default_loss_of_what_it_adapts_on(run_cli, tmp_path, monkeypatch):
    from dataclasses import replace

    from metastyle import bench
    from metastyle.adapt import ADAPT_LOSS, WINDOW_LOSS
    from metastyle.errors import MetastyleError

    losses = []

    def record(config, *_):
        losses.append(config.adapt_overrides["loss"])
        raise MetastyleError("recorded")

    monkeypatch.setattr(bench, "run_bench", record)
    run_cli("bench", "-o", tmp_path / "windows", "--content-balance", "0.5")
    run_cli("bench", "-o", tmp_path / "crops", "--content", "builtin", "--content-balance", "0.5")
    assert losses == [replace(WINDOW_LOSS, content_balance=0.5), replace(ADAPT_LOSS, content_balance=0.5)]


def test_meta_train_and_stylize_set_up_errors_are_one_line(run_cli, tmp_path, photo):
    result = run_cli("meta-train", "--style-dir", tmp_path / "nope", "--content-dir", tmp_path, "-o", tmp_path / "run")
    assert_clean_failure(result, "no such folder")
    result = run_cli("stylize", tmp_path / "missing.jpg", "-o", tmp_path / "o.png", "--style", photo)
    assert_clean_failure(result, "no such file or folder")
    result = run_cli("stylize", photo, "-o", tmp_path / "o.png", "--model", tmp_path / "none.safetensors")
    assert_clean_failure(result, "no such model file")


def test_demo_bench_and_export_set_up_errors_are_one_line(run_cli, tmp_path, photo):
    assert_clean_failure(run_cli("demo", "--style", "builtin:no-such-painting"), "no built-in image named")
    assert_clean_failure(run_cli("demo", "-o", tmp_path / "demo.txt"), "unsupported output extension")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "bench.json").write_text("{}")
    assert_clean_failure(run_cli("bench", "-o", tmp_path / "full"), "already holds results")
    assert_clean_failure(run_cli("export", tmp_path / "none.safetensors", "-o", tmp_path / "m.onnx"), "no such model file")
    assert run_cli("bench", "-o", tmp_path / "b", "--styles", "irises").returncode == 2  # not a held-out painting
    assert run_cli("bench", "-o", tmp_path / "b", "--precision", "fp16").returncode == 2
    assert_clean_failure(run_cli("bench", "-o", tmp_path / "c", "--crop-size", "8"), "sizes of at least 16 px")
    assert_clean_failure(run_cli("bench", "-o", tmp_path / "c", "--content-balance", "-1"), "content balance must be at least 0")
    assert_clean_failure(run_cli("adapt", photo, "-o", tmp_path / "s.safetensors", "--content-balance", "-0.5"), "content balance must be at least 0")
    assert_clean_failure(run_cli("adapt", photo, "-o", tmp_path / "s.safetensors", "--batch", "0"), "at least 1 crop a step")
    assert not (tmp_path / "c").exists() and not (tmp_path / "s.safetensors").exists()


def test_numbers_that_are_not_numbers_or_are_out_of_range_are_refused(run_cli, tmp_path, photo, painting):
    """argparse reads "nan" and "inf" as floats: a NaN rate trained a model to NaN (a black image), and
    a negative style weight maximised the style loss, both with exit status 0."""
    model = tmp_path / "m.safetensors"
    for option, value, message in [("--lr", "nan", "lr must be a finite number"), ("--in-lr", "inf", "in lr must be a finite number"),
                                   ("--lr", "-1", "lr must be above 0"), ("--content-weight", "nan", "content weight must be a finite"),
                                   ("--style-weight", "-1000", "style weight must be at least 0"),
                                   ("--style-layer-weights", "nan,1,1,1,1", "style layer weights must be a finite"),
                                   ("--beta1", "1", "beta1 must be at least 0 and below 1")]:
        assert_clean_failure(run_cli("adapt", painting, "-o", model, option, value, "--steps", "1"), message)
    assert not model.exists()
    for value, message in [("nan", "lr must be a finite number"), ("-1", "lr must be above 0")]:
        assert_clean_failure(run_cli("gatys", photo, painting, "-o", tmp_path / "g.png", "--lr", value), message)
    for option, message in [("--size", "sizes must be at least 16 px"), ("--batch", "batch must be above 0"),
                            ("--meta-batch", "meta batch must be above 0")]:
        assert_clean_failure(run_cli("meta-train", "-o", tmp_path / "run", option, "0", "--iters", "1"), message)
    for value in ("nan", "-1", "inf"):
        assert_clean_failure(run_cli("serve", "--port", "0", "--max-upload-mb", value), "--max-upload-mb must be above 0")
    assert_clean_failure(run_cli("serve", "--port", "99999"), "cannot listen on 127.0.0.1:99999")
    assert_clean_failure(run_cli("gatys", photo, painting, "-o", tmp_path / "g.png", "--style-size", "0"), "size must be a positive")


def test_images_too_small_or_too_large_for_the_job_are_one_line_errors(run_cli, tmp_path, photo, painting):
    thin = tmp_path / "thin.png"
    Image.new("RGB", (200, 5), (90, 40, 10)).save(thin)
    too_small = "too small for the VGG-19 losses: they need at least 16 px on each side"
    assert_clean_failure(run_cli("gatys", thin, painting, "-o", tmp_path / "g.png", "--steps", "1", "--size", "64"), too_small)
    assert_clean_failure(run_cli("gatys", photo, thin, "-o", tmp_path / "g.png", "--steps", "1", "--size", "64"), too_small)
    assert_clean_failure(run_cli("score", photo, painting, photo, "--size", "8"), too_small)
    assert_clean_failure(run_cli("adapt", thin, "-o", tmp_path / "t.safetensors", "--steps", "1", "--style-size", "64"), too_small)
    # a size whose image would pass the 100-megapixel limit is refused before the memory is asked for
    assert_clean_failure(run_cli("gatys", photo, painting, "-o", tmp_path / "g.png", "--size", "100000"), "over the limit of 100 megapixels")
    assert_clean_failure(run_cli("adapt", painting, "-o", tmp_path / "t.safetensors", "--size", "100000"), "at most 10000")
    assert_clean_failure(run_cli("meta-train", "-o", tmp_path / "run", "--size", "100000"), "at most 10000")
    assert_clean_failure(run_cli("distill", "-o", tmp_path / "run", "--size", "100000"), "the size at most 10000")
    assert_clean_failure(run_cli("serve", "--port", "0", "--size", "100000"), "at most 10000")
    assert not (tmp_path / "run").exists()
    assert not (tmp_path / "g.png").exists() and not (tmp_path / "t.safetensors").exists()


def test_output_folders_that_cannot_be_written_fail_before_the_work(run_cli, tmp_path, photo):
    for command in (["bench", "--methods", "Gatys", "--gatys-steps", "1", "--timing-sizes", ""], ["meta-train", "--iters", "1"],
                    ["distill", "--iters", "1"]):
        assert_clean_failure(run_cli(*command, "-o", photo), "cannot write here (it is a file, not a folder)")
        assert_clean_failure(run_cli(*command, "-o", photo / "sub"), "cannot write here")
    result = run_cli("adapt", photo, "-o", tmp_path / "a.safetensors", "--content-dir", photo)
    assert_clean_failure(result, "is a file, not a folder")


def test_demo_can_replace_its_output_when_asked(run_cli, tmp_path):
    existing = tmp_path / "demo.png"
    existing.write_bytes(b"precious")
    assert_clean_failure(run_cli("demo", "-o", existing), "pass --overwrite to replace it")
    # the option the message names exists: what fails next is the painting, not the command line
    assert_clean_failure(run_cli("demo", "-o", existing, "--overwrite", "--style", "builtin:no-such"), "no built-in image named")
    assert existing.read_bytes() == b"precious"
    for option in ("--photo", "--style"):  # --overwrite replaces outputs, never an input
        assert_clean_failure(run_cli("demo", option, existing, "-o", existing, "--overwrite"), "is an input file")
    assert existing.read_bytes() == b"precious"


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path):
    """`metastyle list-builtins | head`: a real pipe whose reader has gone, so a new process."""
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run([sys.executable, "-m", "metastyle", "list-builtins"], stdout=write, stderr=subprocess.PIPE,
                                text=True, cwd=tmp_path, timeout=600)
    finally:
        os.close(write)
    assert result.returncode == 141 and result.stderr == ""
