"""Video stylisation, frame by frame, with the sound kept (imageio-ffmpeg ships its own ffmpeg).

Flicker: a feed-forward network answers small changes in its input (sensor noise, compression)
with larger changes in its output. `deflicker` (0 off, up to 0.95) carries the previous output
over wherever the input barely changed, per pixel:
    w = deflicker * exp(-|frame_t - frame_t-1| / 0.05),   out_t = w * out_t-1 + (1 - w) * stylised_t
so still regions stay still and moving ones follow the new frame without ghosting.
`flicker` measures the result: mean change between consecutive output frames over the same for
the input frames.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

from .errors import MetastyleError
from .images import MAX_PIXELS
from .files import atomic_path
from .inference import InferenceConfig, Stylizer
from .pipeline import render
from .transformer import TransformerNet

MOTION_SCALE = 0.05  # input change (in [0, 1] units) over which carried-over output fades out


def _frames(path: Path) -> tuple[dict, Iterator[bytes]]:
    import imageio_ffmpeg

    if not path.is_file():
        raise MetastyleError(f"{path}: no such file")
    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = next(reader)
    except (OSError, RuntimeError, StopIteration) as error:
        raise MetastyleError(f"{path}: not a video ffmpeg can read ({str(error).splitlines()[0] if str(error) else 'no streams'})") from None
    return meta, reader


def _even_size(width: int, height: int, longest: int | None) -> tuple[int, int]:
    """Output size: the input's, or scaled to `longest`, rounded to even numbers (yuv420p needs them)."""
    if longest is not None:
        if longest < 2:
            raise MetastyleError(f"size must be at least 2 pixels (a video's frame), got {longest}")
        scale = longest / max(width, height)
        width, height = round(width * scale), round(height * scale)
        if width * height > MAX_PIXELS:
            raise MetastyleError(f"size {longest}: the frames would be {width}x{height} px, over the limit of {MAX_PIXELS // 10**6} megapixels")
    return max(2, width - width % 2), max(2, height - height % 2)


def _frame_tensor(raw: bytes, size: tuple[int, int], out_size: tuple[int, int], device: torch.device = torch.device("cpu")) -> torch.Tensor:
    """A decoded RGB frame of `size` (width, height) as a 1x3xHxW tensor in [0, 1] on `device`, scaled there to `out_size`."""
    (in_w, in_h), (out_w, out_h) = size, out_size
    frame = torch.from_numpy(np.frombuffer(raw, dtype=np.uint8).reshape(in_h, in_w, 3).copy()).to(device).permute(2, 0, 1)[None].float().div(255)
    if (out_w, out_h) != (in_w, in_h):
        frame = torch.nn.functional.interpolate(frame, size=(out_h, out_w), mode="bilinear", antialias=True)
    return frame


def sample_frames(source: str | os.PathLike, size: int | None, count: int) -> list[torch.Tensor]:
    """Up to `count` frames spread through the video, at the size it is stylised: what --style adapts on."""
    meta, reader = _frames(Path(source))
    in_size = meta["size"]
    expected = max(1, int(round((meta.get("duration") or 0) * (meta.get("fps") or 25))))
    wanted = {round(i * (expected - 1) / max(1, count - 1)) for i in range(count)}
    last, frames = max(wanted), []
    try:
        for index, raw in enumerate(reader):
            if index in wanted:
                frames.append(_frame_tensor(raw, in_size, _even_size(*in_size, size)))
            if index >= last:
                break
    finally:
        reader.close()
    if not frames:
        raise MetastyleError(f"{source}: the video has no frames")
    return frames


def deflicker_step(stylized: torch.Tensor, frame: torch.Tensor, previous: tuple[torch.Tensor, torch.Tensor] | None, strength: float) -> torch.Tensor:
    if previous is None or strength == 0:
        return stylized
    prev_frame, prev_out = previous
    motion = (frame - prev_frame).abs().mean(dim=1, keepdim=True)
    carry = strength * torch.exp(-motion / MOTION_SCALE)
    return carry * prev_out + (1 - carry) * stylized


def stylize_video(
    network: TransformerNet,
    source: str | os.PathLike,
    output: str | os.PathLike,
    *,
    size: int | None = None,
    strength: float = 1.0,
    preserve_color: bool = False,
    deflicker: float = 0.0,
    inference: InferenceConfig = InferenceConfig(),
    device: torch.device = torch.device("cpu"),
    on_frame: Callable[[int, int], None] | None = None,
) -> dict[str, float]:
    """Write the stylised video to `output` (atomically: nothing is left behind on failure).

    One `Stylizer` serves every frame: with the "auto" engine, the frame size is compiled at the
    second frame. Returns the frame count, the video's frame rate, the flicker and the frames
    stylised per second (`speed`, reading and encoding included)."""
    import imageio_ffmpeg

    if not 0.0 <= deflicker <= 0.95:
        raise MetastyleError(f"deflicker must be between 0 and 0.95, got {deflicker}")
    source, output = Path(source), Path(output)
    meta, reader = _frames(source)
    in_w, in_h = meta["size"]
    out_w, out_h = _even_size(in_w, in_h, size)
    fps = meta.get("fps") or 25
    expected = int(round((meta.get("duration") or 0) * fps))
    stylizer = Stylizer(network.to(device), inference)
    count, previous, tick = 0, None, time.perf_counter()
    change_in = change_out = 0.0
    with atomic_path(output) as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp), (out_w, out_h), fps=fps, macro_block_size=1, quality=8, ffmpeg_log_level="error",
            audio_path=str(source) if meta.get("audio_codec") else None, audio_codec="aac" if meta.get("audio_codec") else None,
        )
        writer.send(None)
        try:
            for raw in reader:
                frame = _frame_tensor(raw, (in_w, in_h), (out_w, out_h), device)
                out = deflicker_step(render(stylizer, frame, strength, preserve_color), frame, previous, deflicker)
                if previous is not None:
                    change_in += (frame - previous[0]).abs().mean().item()
                    change_out += (out - previous[1]).abs().mean().item()
                previous = (frame, out)
                writer.send(out[0].clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).contiguous().cpu().numpy())
                count += 1
                if on_frame is not None:
                    on_frame(count, expected)
        finally:
            writer.close()
            reader.close()
        if count == 0:
            raise MetastyleError(f"{source}: the video has no frames")
    seconds = time.perf_counter() - tick
    return {"frames": count, "fps": float(fps), "flicker": change_out / change_in if change_in else 0.0, "speed": count / seconds}
