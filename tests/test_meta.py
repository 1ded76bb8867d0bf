"""Algorithm 1: the meta-gradient, training, resume and distributed equivalence."""

import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file

from metastyle.device import autocast
from metastyle.errors import MetastyleError
from metastyle.losses import LossConfig, PerceptualLoss
from metastyle.meta import MetaConfig, MetaData, Task, meta_loss, meta_train
from metastyle.models import load_predictor, read_info
from metastyle.transformer import TransformerNet, in_parameter_names


TINY = MetaConfig(iters=4, size=16, style_size=32, meta_batch=2, batch=2, checkpoint_every=2, outer_lr=1e-3)


def double_task(vgg64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    style, train, val = (torch.rand(n, 3, 16, 16, generator=gen, dtype=torch.float64) for n in (1, 2, 2))
    return Task(PerceptualLoss(vgg64, style), train, val)


def few_percent_rate(model, task):
    """An inner learning rate that moves the InstanceNorm parameters by 3% in one step."""
    names = in_parameter_names(model)
    params = dict(model.named_parameters())
    inner = task.loss(model(task.train), task.loss.content_targets(task.train)).total
    grads = torch.autograd.grad(inner, [params[n] for n in names])
    norm = lambda ts: torch.cat([t.flatten() for t in ts]).norm().item()  # noqa: E731
    return 0.03 * norm([params[n] for n in names]) / norm(grads)


@pytest.fixture(scope="module")
def vgg64():
    from metastyle.vgg import VGG19

    return VGG19().double()


def test_meta_gradient_equals_the_hand_unrolled_chain_rule(vgg64):
    torch.manual_seed(0)
    model = TransformerNet().double()
    task = double_task(vgg64)
    alpha = few_percent_rate(model, task)
    config = replace(TINY, inner_steps=1, inner_params="in")
    params = dict(model.named_parameters())
    names = in_parameter_names(model)

    # metastyle's meta-gradient, second and first order
    second = torch.autograd.grad(meta_loss(model, [task], config, alpha, scale=1), list(params.values()))
    first = torch.autograd.grad(meta_loss(model, [task], replace(config, first_order=True), alpha, scale=1), list(params.values()))

    # By hand: theta' = theta - alpha * dL_train/dtheta_in; F(theta) = L_val(theta').
    # dF/dtheta = g_val - alpha * H_train[:, in] g_val[in], with g_val = dL_val/dtheta at theta'.
    from torch.func import functional_call

    targets = task.loss.content_targets(task.train)
    inner = task.loss(functional_call(model, params, (task.train,)), targets).total
    g_in = torch.autograd.grad(inner, [params[n] for n in names], create_graph=True)
    adapted = {**{k: v.detach().clone().requires_grad_(True) for k, v in params.items()}}
    for n, g in zip(names, g_in):
        adapted[n] = (params[n] - alpha * g).detach().requires_grad_(True)
    outer = task.loss(functional_call(model, adapted, (task.val,)), task.loss.content_targets(task.val)).total
    g_val = dict(zip(adapted, torch.autograd.grad(outer, list(adapted.values()))))
    hvp = torch.autograd.grad(g_in, list(params.values()), grad_outputs=[g_val[n] for n in names], allow_unused=True)
    by_hand = [g_val[k] - alpha * (h if h is not None else 0) for k, h in zip(params, hvp)]

    # Round-off is relative to the largest gradient (conv biases before InstanceNorm have true
    # gradient zero, so theirs is pure round-off).
    scale = max(h.abs().max().item() for h in by_hand)
    for mine, hand, fo, name in zip(second, by_hand, first, params):
        assert torch.allclose(mine, hand, rtol=1e-6, atol=1e-8 * scale), name
        assert torch.allclose(fo, g_val[name], rtol=1e-6, atol=1e-8 * scale), name
    # The second-order term matters: the two differ on the parameters feeding the inner step.
    diff = max((s - f).abs().max().item() for s, f in zip(second, first))
    assert diff > 1e-6 * max(s.abs().max().item() for s in second)


def test_a_normalized_inner_step_does_not_grow_with_the_loss_scale(vgg64):
    """Plain SGD steps grow with the gradient, which meta-training can exploit; normalized ones cannot."""
    torch.manual_seed(0)
    model = TransformerNet().double()
    gen = torch.Generator().manual_seed(0)
    style, train, val = (torch.rand(n, 3, 16, 16, generator=gen, dtype=torch.float64) for n in (1, 2, 2))
    base = LossConfig()
    tenfold = LossConfig(content_weight=10 * base.content_weight, style_weight=10 * base.style_weight)
    quiet, loud = (Task(PerceptualLoss(vgg64, style, c), train, val) for c in (base, tenfold))
    for normalized, rate in ((True, 1.0), (False, few_percent_rate(model, quiet))):
        config = replace(TINY, inner_steps=1, inner_params="in", normalized_inner=normalized)
        ratio = (meta_loss(model, [loud], config, rate, scale=1) / meta_loss(model, [quiet], config, rate, scale=1)).item()
        if normalized:  # the same adapted weights, so exactly ten times the loss
            assert ratio == pytest.approx(10, rel=1e-6)
        else:  # a ten times longer step lands somewhere else
            assert abs(ratio - 10) > 0.01


def test_init_weight_adds_the_initialisations_own_validation_loss(vgg64):
    torch.manual_seed(0)
    model = TransformerNet().double()
    task = double_task(vgg64)
    config = replace(TINY, inner_steps=1, normalized_inner=True)
    plain = meta_loss(model, [task], config, 1.0, scale=1)
    scored = meta_loss(model, [task], replace(config, init_weight=0.5), 1.0, scale=1)
    own = task.loss(model(task.val), task.loss.content_targets(task.val)).total
    assert (scored - plain).item() == pytest.approx(0.5 * own.item(), rel=1e-9)


def fixed_validation_loss(model, folders, config, vgg):
    """The meta-objective on a fixed, seeded set of tasks: what meta-training should lower."""
    data = MetaData(*folders, config)
    tasks = data.tasks(replace(config, meta_batch=4), torch.Generator().manual_seed(123), vgg, torch.device("cpu"), slice(None))
    return meta_loss(model, tasks, config, config.inner_lr, scale=len(tasks)).item()


def test_meta_training_lowers_the_validation_loss(folders, tmp_path, vgg):
    config = replace(TINY, iters=25, checkpoint_every=25, outer_lr=3e-3)
    torch.manual_seed(config.seed)
    before = fixed_validation_loss(TransformerNet(), folders, config, vgg)
    model = meta_train(*folders, tmp_path / "run", config)
    after = fixed_validation_loss(model, folders, config, vgg)
    assert after < 0.7 * before
    assert (tmp_path / "run" / "model.safetensors").is_file()
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 25


@pytest.mark.parametrize("config", [
    TINY,
    replace(TINY, inner_steps=0, predictor=True, predictor_lr=1e-3, ema=0.5),
    replace(TINY, inner_steps=2, inner_loop="deployed", first_order=True, inner_params="all", predictor=True, precision="bf16"),
], ids=["algorithm-1", "amortised-ema", "deployed"])
def test_resume_after_an_interruption_gives_the_same_parameters(folders, tmp_path, config):
    straight = meta_train(*folders, tmp_path / "a", config)
    meta_train(*folders, tmp_path / "b", replace(config, iters=2))
    resumed = meta_train(*folders, tmp_path / "b", config, resume=True)
    for (name, p), q in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(p, q), name
    lines = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == config.iters
    # The model's final losses take in the lines logged before the interruption too.
    losses = read_info(tmp_path / "b" / "model.safetensors")["final_losses"]
    assert losses == {f"val_loss (mean of last {config.iters})": pytest.approx(sum(r["val_loss"] for r in lines) / config.iters)}
    if config.predictor:
        a, b = (load_predictor(tmp_path / x / "model.safetensors") for x in "ab")
        assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_a_resumed_run_keeps_the_history_it_started_from(folders, tmp_path):
    """The weights come from the checkpoint, so an --init given again on resume (here another file)
    must not change what the model file says it was trained from."""
    first, other = tmp_path / "first" / "model.safetensors", tmp_path / "other" / "model.safetensors"
    meta_train(*folders, first.parent, replace(TINY, iters=1))
    meta_train(*folders, other.parent, replace(TINY, iters=3))
    meta_train(*folders, tmp_path / "run", replace(TINY, iters=2), init=first)
    meta_train(*folders, tmp_path / "run", replace(TINY, iters=4), resume=True, init=other)
    info = read_info(tmp_path / "run" / "model.safetensors")
    assert info["init"] == str(first)
    assert [stage["iterations"] for stage in info["stages"]] == [1, 4]


def test_a_run_folder_is_not_overwritten_without_resume(folders, tmp_path):
    meta_train(*folders, tmp_path / "a", replace(TINY, iters=1, checkpoint_every=1))
    with pytest.raises(MetastyleError, match="--resume"):
        meta_train(*folders, tmp_path / "a", replace(TINY, iters=1))


def test_a_run_from_before_a_setting_existed_resumes_while_that_setting_keeps_its_default(folders, tmp_path):
    meta_train(*folders, tmp_path / "a", replace(TINY, iters=2))
    checkpoint = tmp_path / "a" / "checkpoint.pt"
    state = torch.load(checkpoint, weights_only=True)
    del state["config"]["style_crops"]  # as written by a version without it
    del state["config"]["loss"]["content_balance"]  # nor this field of the loss
    torch.save(state, checkpoint)
    with pytest.raises(MetastyleError, match="style_crops"):
        meta_train(*folders, tmp_path / "a", replace(TINY, style_crops=0.5), resume=True)
    with pytest.raises(MetastyleError, match="loss"):
        meta_train(*folders, tmp_path / "a", replace(TINY, loss=replace(TINY.loss, content_balance=1)), resume=True)
    meta_train(*folders, tmp_path / "a", TINY, resume=True)
    assert len((tmp_path / "a" / "metrics.jsonl").read_text().splitlines()) == TINY.iters


def test_two_process_torchrun_equals_one_process(folders, tmp_path):
    """One outer iteration, compared where it is well conditioned: the all-reduced meta-gradient,
    which Adam's first moment holds after one step (0.1 g). Not the weights after more steps: on
    this tiny problem the inner SGD step is chaotic, and a 1e-9 move of the weights (float32
    summation order) moves the next gradient by 3% of its largest entry (measured, AMD EPYC with
    AVX2), which Adam's per-entry normalisation turns into full-size steps on small entries."""
    args = ["meta-train", "--style-dir", folders[0], "--content-dir", folders[1], "--iters", "1", "--size", "16", "--style-size", "32",
            "--meta-batch", "2", "--batch", "2", "--outer-lr", "1e-3", "--device", "cpu"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    single = subprocess.run([sys.executable, "-m", "metastyle", *map(str, args), "-o", tmp_path / "one"],
                            capture_output=True, text=True, env=env, timeout=600)
    assert single.returncode == 0, single.stderr
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "metastyle"]
    double = subprocess.run([*torchrun, *map(str, args), "-o", tmp_path / "two"], capture_output=True, text=True, env=env, timeout=600)
    assert double.returncode == 0, double.stderr
    one, two = (torch.load(tmp_path / run / "checkpoint.pt", weights_only=True) for run in ("one", "two"))
    # The same draws: the generator ends in the same state, and the meta-loss is the same.
    assert torch.equal(one["generator"], two["generator"])
    losses = [json.loads((tmp_path / run / "metrics.jsonl").read_text())["val_loss"] for run in ("one", "two")]
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    # The same gradient, up to float32 summation order (measured: 1e-7 of the largest entry).
    g_one, g_two = ([s["exp_avg"].flatten() for _, s in sorted(run["optimizer"]["state"].items())] for run in (one, two))
    g_one, g_two = torch.cat(g_one), torch.cat(g_two)
    assert g_one.abs().max() > 0 and (g_one - g_two).abs().max() < 1e-5 * g_one.abs().max()
    # And the two networks compute the same images.
    x = torch.rand(1, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    net_one, net_two = TransformerNet(), TransformerNet()
    net_one.load_state_dict(one["model"]), net_two.load_state_dict(two["model"])
    assert torch.allclose(net_one(x), net_two(x), atol=1e-5)


def test_content_sources_lose_a_test_split_and_builtin_means_the_training_builtins(folders):
    from metastyle.data import training_builtins

    data = MetaData("builtin", [folders[1], "builtin"], replace(TINY, test_fraction=0.5))
    used = set(data.train.paths) | set(data.val.paths)
    assert set(data.style_paths) == set(training_builtins("painting"))
    assert set(training_builtins("photo")) <= used
    assert len([p for p in used if p.parent == folders[1]]) == 3  # 6 photos, half kept out for testing
    assert not set(data.train.paths) & set(data.val.paths)


def test_warmup_teaches_the_network_to_reproduce_photos(folders, tmp_path, vgg):
    from metastyle.meta import warmup_loss

    config = replace(TINY, iters=30, warmup=30, outer_lr=3e-3, checkpoint_every=30)
    images = MetaData(*folders, config).val.sample(4, torch.Generator().manual_seed(5))
    torch.manual_seed(config.seed)
    before = warmup_loss(TransformerNet(), images, vgg, config.loss).item()
    model = meta_train(*folders, tmp_path / "run", config)
    assert warmup_loss(model, images, vgg, config.loss).item() < 0.75 * before
    assert '"warmup_loss"' in (tmp_path / "run" / "metrics.jsonl").read_text()


def test_a_style_crop_is_a_region_of_the_painting_seen_by_the_loss_and_the_predictor_alike(folders, vgg):
    from metastyle.images import load_image
    from metastyle.predictor import PAINTING_SIZE, painting_statistics

    config = replace(TINY, inner_steps=0, predictor=True, style_crops=1.0)
    data = MetaData(*folders, config)
    box = torch.tensor([0.0, 1.0, 0.5, 0.0])  # 60% of the height, all the width, halfway down the rest
    loss, statistics = data.region(2, box, None, vgg, torch.device("cpu"), config)

    def region(size):
        image = load_image(data.style_paths[2], size)
        h = image.shape[-2]
        return image[..., int(0.2 * h) : int(0.2 * h) + round(0.6 * h), :]

    expected = PerceptualLoss(vgg, region(config.style_size), config.loss).style_grams
    assert all(torch.equal(loss.style_grams[k], expected[k]) for k in expected)
    assert torch.equal(statistics, painting_statistics(vgg, region(PAINTING_SIZE)))
    assert not torch.allclose(statistics.mean(0), painting_statistics(vgg, load_image(data.style_paths[2], PAINTING_SIZE)).mean(0))


@pytest.mark.parametrize("share, regions", [(0.0, 0), (1.0, 4)])
def test_style_crops_is_the_share_of_the_meta_batch_drawn_as_regions(folders, vgg, monkeypatch, share, regions):
    config = replace(TINY, inner_steps=0, predictor=True, meta_batch=4, style_crops=share)
    data = MetaData(*folders, config)
    calls = []
    monkeypatch.setattr(data, "region", lambda s, box, *_: calls.append(box) or (data.style_loss(s, vgg, torch.device("cpu"), config), None))
    monkeypatch.setattr(data, "statistics", lambda *_: None)
    data.tasks(config, torch.Generator().manual_seed(0), vgg, torch.device("cpu"), slice(None))
    assert len(calls) == regions and all(((0 <= b) & (b < 1)).all() for b in calls)
    with pytest.raises(MetastyleError):
        replace(config, style_crops=1.5)


def test_style_blends_mix_two_paintings_in_the_loss_and_the_statistics_alike(folders, vgg):
    from metastyle.predictor import blend_statistics

    config = replace(TINY, inner_steps=0, predictor=True, meta_batch=4, style_blends=1.0)
    data, cpu = MetaData(*folders, config), torch.device("cpu")
    draws = torch.Generator().manual_seed(0)
    tasks = data.tasks(config, draws, vgg, cpu, slice(None))
    replay = torch.Generator().manual_seed(0)  # the same draws, made by hand
    for task in tasks:
        s, view = int(torch.randint(len(data.style_paths), (), generator=replay)), int(torch.randint(8, (), generator=replay))
        partner, partner_view, weight = data._blend_draw(config, replay)
        data.train.sample(config.batch, replay), data.val.sample(config.batch, replay)
        first, second = data.style_loss(s, vgg, cpu, config), data.style_loss(partner, vgg, cpu, config)
        assert all(torch.allclose(task.loss.style_grams[k], weight * first.style_grams[k] + (1 - weight) * second.style_grams[k])
                   for k in first.style_grams)
        assert torch.equal(task.statistics, blend_statistics(data.statistics(s, view, vgg, cpu), data.statistics(partner, partner_view, vgg, cpu), weight))
    plain = data.tasks(replace(config, style_blends=0.0), torch.Generator().manual_seed(0), vgg, cpu, slice(None))
    assert all(any(task.loss is loss for loss in data._losses.values()) for task in plain)
    assert not any(task.loss is loss for loss in data._losses.values() for task in tasks)
    with pytest.raises(MetastyleError, match="style blends"):
        replace(config, style_blends=-0.1)


def test_style_recolours_swap_two_channels_of_the_painting_for_the_loss_and_the_predictor_alike(folders, vgg):
    from metastyle.images import load_image
    from metastyle.meta import SWAPS

    config = replace(TINY, inner_steps=0, predictor=True, meta_batch=4, style_recolours=1.0)
    data, cpu = MetaData(*folders, config), torch.device("cpu")
    tasks = data.tasks(config, torch.Generator().manual_seed(0), vgg, cpu, slice(None))
    swaps = [key[1] for key in data._losses]
    assert len(tasks) == 4 and None not in swaps and set(swaps) <= {0, 1, 2}
    assert sorted(map(sorted, SWAPS)) == [[0, 1, 2]] * 3 and (2, 0, 1) not in SWAPS  # BRG stays unseen
    (index, swap), loss = next(iter(data._losses.items()))
    painting = load_image(data.style_paths[index], config.style_size)
    expected = PerceptualLoss(vgg, painting[:, list(SWAPS[swap])], config.loss).style_grams
    assert all(torch.equal(loss.style_grams[k], expected[k]) for k in expected)
    assert not torch.allclose(loss.style_grams["relu1_1"], PerceptualLoss(vgg, painting, config.loss).style_grams["relu1_1"])
    view = next(key[1] for key in data._statistics if key[0] == index and key[2] == swap)
    assert not torch.equal(data.statistics(index, view, vgg, cpu, swap), data.statistics(index, view, vgg, cpu))
    plain = MetaData(*folders, replace(config, style_recolours=0.0))
    plain.tasks(replace(config, style_recolours=0.0), torch.Generator().manual_seed(0), vgg, cpu, slice(None))
    assert all(key[1] is None for key in plain._losses)
    with pytest.raises(MetastyleError, match="style recolours"):
        replace(config, style_recolours=2.0)


def test_predictor_noise_perturbs_the_statistics_reproducibly_and_training_goes_on(folders, tmp_path):
    config = replace(TINY, inner_steps=0, predictor=True, predictor_noise=0.5, style_blends=0.5, iters=2)
    model = meta_train(*folders, tmp_path / "a", config)
    again = meta_train(*folders, tmp_path / "b", config)
    quiet = meta_train(*folders, tmp_path / "c", replace(config, predictor_noise=0.0))
    a, b, c = (torch.cat([p.flatten() for p in m.parameters()]) for m in (model, again, quiet))
    assert torch.equal(a, b) and not torch.equal(a, c)
    with pytest.raises(MetastyleError, match="predictor noise"):
        replace(config, predictor_noise=-1.0)
    with pytest.raises(MetastyleError, match="predictor noise"):
        replace(TINY, predictor_noise=0.5)


def test_with_ema_the_model_file_holds_the_moving_average_of_the_weights(folders, tmp_path):
    config = replace(TINY, iters=2, checkpoint_every=1, ema=0.75)
    first = meta_train(*folders, tmp_path / "one", replace(config, iters=1))  # the weights after one iteration
    averaged = meta_train(*folders, tmp_path / "two", config)
    state = torch.load(tmp_path / "two" / "checkpoint.pt", weights_only=True)
    saved = load_file(tmp_path / "two" / "model.safetensors")
    for name, weight in first.named_parameters():
        expected = 0.75 * weight + 0.25 * state["model"][name]  # the average starts at the first iteration's weights
        assert torch.allclose(dict(averaged.named_parameters())[name], expected) and torch.allclose(saved[name], expected), name
    assert not torch.allclose(saved["net.0.0.1.weight"], state["model"]["net.0.0.1.weight"])
    with pytest.raises(MetastyleError, match="ema"):
        replace(config, ema=1.0)


def test_predictor_noise_does_not_depend_on_the_share_a_process_computes(folders, vgg):
    from metastyle.meta import _OuterStep
    from metastyle.predictor import StylePredictor

    config = replace(TINY, inner_steps=0, predictor=True, predictor_noise=0.5, meta_batch=4)
    data, cpu = MetaData(*folders, config), torch.device("cpu")
    tasks = data.tasks(config, torch.Generator().manual_seed(0), vgg, cpu, slice(None))
    tasks[3].statistics = torch.cat([tasks[3].statistics] * 3)  # a region seen in 3 views: more numbers to draw

    def noisy(rank, world):
        share = slice(rank * 4 // world, (rank + 1) * 4 // world)
        mine = [Task(t.loss, t.train, t.val, t.statistics.clone()) for t in tasks[share]]
        step = _OuterStep(config, data, None, StylePredictor(), None, vgg, torch.Generator().manual_seed(1), cpu, rank, world)
        step._add_noise(mine, share)
        return [t.statistics for t in mine], step.generator.get_state()

    whole, state = noisy(0, 1)
    halves = [noisy(rank, 2) for rank in (0, 1)]
    assert all(torch.equal(a, b) for a, b in zip(whole, halves[0][0] + halves[1][0]))
    assert all(torch.equal(state, half[1]) for half in halves)
    assert not torch.equal(whole[0], tasks[0].statistics)


def test_the_deployed_inner_loop_is_the_test_time_adaptation_with_a_first_order_gradient(vgg):
    """Its adapted weights are what adapt.adapt_steps makes of the start (in bf16 too: inside an
    autocast region, as meta-training once ran it, the steps kept the start's cached bf16 weights),
    and the outer gradient is the validation loss's gradient at those weights."""
    from torch.func import functional_call

    from metastyle.adapt import AdaptConfig, adapt_steps

    torch.manual_seed(0)
    model = TransformerNet()
    gen = torch.Generator().manual_seed(0)
    style, train, val = (torch.rand(n, 3, 16, 16, generator=gen) for n in (1, 6, 2))
    task = Task(PerceptualLoss(vgg, style), train, val)
    for precision, tolerance in (("bf16", 1e-3), ("fp32", 1e-5)):
        config = replace(TINY, inner_steps=3, inner_loop="deployed", first_order=True, inner_params="all", precision=precision)
        by_hand = TransformerNet()
        by_hand.load_state_dict(model.state_dict())
        adapt_steps(by_hand, task.loss, train.split(2), AdaptConfig(steps=3, batch=2, precision=precision))
        adapted = {n: p.detach().clone().requires_grad_(True) for n, p in by_hand.named_parameters()}
        with autocast(torch.device("cpu"), precision):
            at_adapted = task.loss(functional_call(model, adapted, (val,)), task.loss.content_targets(val)).total
            at_start = task.loss(model(val), task.loss.content_targets(val)).total
        loss = meta_loss(model, [task], config, inner_lr=0.0, scale=1)
        assert loss.item() == pytest.approx(at_adapted.item(), rel=tolerance) and loss.item() != pytest.approx(at_start.item(), rel=tolerance)
    # fp32: the outer gradient is the adapted weights' own (round-off relative to the largest entry,
    # as conv biases before InstanceNorm have true gradient zero). At the very same weights, bit for
    # bit: on this tiny problem an ulp's move of them moves the gradient by 3e-4 of its largest entry
    # (measured, AMD EPYC with AVX2).
    mine, theirs = torch.autograd.grad(loss, list(model.parameters())), torch.autograd.grad(at_adapted, list(adapted.values()))
    scale = max(g.abs().max().item() for g in theirs)
    assert all(torch.allclose(m, t, rtol=1e-4, atol=1e-5 * scale) for m, t in zip(mine, theirs))
    with pytest.raises(MetastyleError, match="first order"):
        replace(TINY, inner_loop="deployed")
    # The adapted weights scored at the `score`'s weights: the steps are the same, only the outer loss changes.
    adaptation = PerceptualLoss(vgg, style, LossConfig(content_weight=60.0, style_layer_weights=(1000.0, 1.0, 1.0, 1.0, 1.0)))
    config = replace(config, outer_loss="score")
    by_hand = TransformerNet()
    by_hand.load_state_dict(model.state_dict())
    adapt_steps(by_hand, adaptation, train.split(2), AdaptConfig(steps=3, batch=2, loss=adaptation.config))
    score = PerceptualLoss(vgg, style)
    at_adapted = score(by_hand(val), score.content_targets(val)).total.item()
    tasks = [Task(adaptation, train, val)]
    loss = meta_loss(model, tasks, config, inner_lr=0.0, scale=1).item()
    trained = meta_loss(model, tasks, replace(config, outer_loss="training"), inner_lr=0.0, scale=1).item()
    assert loss == pytest.approx(at_adapted, rel=1e-5) and loss != pytest.approx(trained, rel=0.01)
    own = adaptation(model(val), adaptation.content_targets(val)).total.item()  # the start's anchor stays at the training loss
    anchored = meta_loss(model, tasks, replace(config, init_weight=0.5), inner_lr=0.0, scale=1).item()
    assert anchored == pytest.approx(at_adapted + 0.5 * own, rel=1e-5)


def test_the_deployed_inner_loop_draws_a_content_batch_per_step_and_random_validation_crops(folders, vgg):
    config = replace(TINY, inner_steps=3, inner_loop="deployed", first_order=True)
    data = MetaData(*folders, config)
    tasks = data.tasks(config, torch.Generator().manual_seed(0), vgg, torch.device("cpu"), slice(None))
    assert [t.train.shape[0] for t in tasks] == [3 * config.batch] * config.meta_batch
    assert data.val.augment and not MetaData(*folders, TINY).val.augment


def test_the_deployed_inner_loop_can_fit_the_photos_it_is_scored_on(folders, vgg):
    config = replace(TINY, inner_steps=3, inner_loop="deployed", first_order=True, inner_content="photo")
    tasks = MetaData(*folders, config).tasks(config, torch.Generator().manual_seed(0), vgg, torch.device("cpu"), slice(None))
    for task in tasks:
        assert task.train.shape[0] == 3 * config.batch
        assert all(any(torch.equal(w, v) for v in task.val) for w in task.train)  # its own validation photos, as they are
    with pytest.raises(MetastyleError, match="--inner-content photo is for the deployed inner loop"):
        replace(TINY, inner_content="photo")
