"""Video: frame count, size and sound kept, flicker measured and reduced, bad input refused."""

import wave

import imageio_ffmpeg
import numpy as np
import pytest
import torch

from metastyle.errors import MetastyleError
from metastyle.inference import InferenceConfig
from metastyle.models import save_model
from metastyle.transformer import TransformerNet
from metastyle.video import sample_frames, stylize_video


def make_clip(path, frames=12, size=(64, 48), with_audio=True, tmp=None):
    """A still scene with sensor noise and one moving square, 12 fps, optionally with a 440 Hz tone."""
    w, h = size
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:h, 0:w]
    scene = np.stack([x / w, y / h, 0.5 + 0 * x], -1) * 200 + 25
    audio = None
    if with_audio:
        audio = tmp / "tone.wav"
        with wave.open(str(audio), "wb") as f:
            f.setnchannels(1), f.setsampwidth(2), f.setframerate(8000)
            f.writeframes((np.sin(np.arange(8000) * 2 * np.pi * 440 / 8000) * 8000).astype("<i2").tobytes())
    writer = imageio_ffmpeg.write_frames(str(path), size, fps=12, macro_block_size=1, quality=10,
                                         audio_path=str(audio) if audio else None, audio_codec="aac" if audio else None)
    writer.send(None)
    for t in range(frames):
        frame = scene + rng.normal(0, 6, scene.shape)
        frame[10:20, 4 + 3 * t : 14 + 3 * t] = (250, 30, 30)
        writer.send(frame.clip(0, 255).astype(np.uint8))
    writer.close()
    return path


def read_meta(path):
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    count = sum(1 for _ in reader)
    return meta, count


@pytest.fixture
def model():
    torch.manual_seed(0)
    return TransformerNet()


def test_frames_size_and_sound_are_kept(tmp_path, model):
    clip = make_clip(tmp_path / "in.mp4", tmp=tmp_path)
    result = stylize_video(model, clip, tmp_path / "out.mp4")  # the default engine: compiled from the second frame
    meta, count = read_meta(tmp_path / "out.mp4")
    assert result["frames"] == count == 12 and result["speed"] > 0
    assert tuple(meta["size"]) == (64, 48)
    assert meta.get("audio_codec")  # the tone is still there
    stylize_video(model, clip, tmp_path / "small.mp4", size=32, inference=InferenceConfig(engine="eager"))
    assert tuple(read_meta(tmp_path / "small.mp4")[0]["size"]) == (32, 24)


def test_deflicker_reduces_measured_flicker(tmp_path, model):
    clip = make_clip(tmp_path / "in.mp4", with_audio=False)
    plain = stylize_video(model, clip, tmp_path / "plain.mp4")["flicker"]
    steady = stylize_video(model, clip, tmp_path / "steady.mp4", deflicker=0.8)["flicker"]
    assert plain > 0 and steady < 0.6 * plain


def test_bad_videos_leave_nothing_behind(tmp_path, model):
    (tmp_path / "text.mp4").write_text("not a video")
    make_clip(tmp_path / "in.mp4", with_audio=False)
    cases = [(tmp_path / "text.mp4", "not a video"), (tmp_path / "missing.mp4", "no such file")]
    for source, message in cases:
        with pytest.raises(MetastyleError, match=message):
            stylize_video(model, source, tmp_path / "out.mp4")
        assert list(p.name for p in tmp_path.iterdir() if p.name.startswith(("out", ".out"))) == []
    with pytest.raises(MetastyleError, match="deflicker"):
        stylize_video(model, tmp_path / "in.mp4", tmp_path / "out.mp4", deflicker=1.0)


def test_a_video_with_no_frames(tmp_path, model):
    with wave.open(str(tmp_path / "sound.wav"), "wb") as f:
        f.setnchannels(1), f.setsampwidth(2), f.setframerate(8000)
        f.writeframes(b"\x00\x00" * 800)
    with pytest.raises(MetastyleError, match="no frames|not a video"):
        stylize_video(model, tmp_path / "sound.wav", tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


def test_video_cli(run_cli, tmp_path, model):
    clip = make_clip(tmp_path / "in.mp4", frames=4, with_audio=False)
    weights = save_model(model, tmp_path / "m.safetensors", {})
    result = run_cli("video", clip, "-o", tmp_path / "out.mp4", "--model", weights, "--deflicker", "0.5", "--strength", "0.8")
    assert result.returncode == 0, result.stderr
    assert "4 frames" in result.stdout and read_meta(tmp_path / "out.mp4")[1] == 4
    result = run_cli("video", tmp_path / "nope.mp4", "-o", tmp_path / "o.mp4", "--model", weights)
    assert result.returncode == 1 and "no such file" in result.stderr and "Traceback" not in result.stderr
    for size in ("0", "-7"):  # wrote a 2x2 video
        result = run_cli("video", clip, "-o", tmp_path / "tiny.mp4", "--model", weights, "--size", size)
        assert result.returncode == 1 and "size must be at least 2 pixels" in result.stderr and not (tmp_path / "tiny.mp4").exists()
    result = run_cli("video", clip, "-o", tmp_path / "huge.mp4", "--model", weights, "--size", "100000")  # asked for 90 GB
    assert result.returncode == 1 and "over the limit of 100 megapixels" in result.stderr and not (tmp_path / "huge.mp4").exists()
    result = run_cli("video", clip, "-o", tmp_path / "d.mp4", "--model", weights, "--deflicker", "2")
    assert result.returncode == 1 and result.stderr.strip().splitlines() == ["metastyle: error: deflicker must be between 0 and 0.95, got 2.0"]


def test_style_adapts_on_frames_spread_through_the_video(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=12, with_audio=False)
    frames = sample_frames(clip, 32, 4)
    assert len(frames) == 4 and all(f.shape == (1, 3, 24, 32) for f in frames)  # at the size stylised
    squares = [int(f[0, 0, 6].argmax()) for f in frames]  # the red square moves right: the frames are spread
    assert squares == sorted(squares) and squares[-1] - squares[0] > 10
    assert len(sample_frames(clip, None, 1)) == 1
