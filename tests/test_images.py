import os

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import png16_rgb, png_with_size
from metastyle.errors import MetastyleError
from metastyle.images import check_output_path, load_image, open_image, resize_longest, save_image


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, 10, 20))  # blue on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    image.save(tmp_path / "rotated.jpg", exif=exif, quality=100)
    upright = open_image(tmp_path / "rotated.jpg")
    assert upright.size == (20, 40)
    pixels = np.asarray(upright).astype(int)
    # Turned 90 degrees clockwise for display: the blue left edge is now along the top.
    assert (pixels[2, :, 2] > 200).all() and (pixels[2, :, 0] < 60).all()
    assert (pixels[-3, :, 0] > 200).all() and (pixels[-3, :, 2] < 60).all()


def test_transparency_is_composited_on_white(tmp_path):
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    rgba.putpixel((0, 0), (255, 0, 0, 255))
    rgba.save(tmp_path / "a.png")
    pixels = np.asarray(open_image(tmp_path / "a.png"))
    assert tuple(pixels[0, 0]) == (255, 0, 0)
    assert tuple(pixels[1, 1]) == (255, 255, 255)
    Image.new("LA", (2, 2), (0, 0)).save(tmp_path / "la.png")
    assert tuple(np.asarray(open_image(tmp_path / "la.png"))[0, 0]) == (255, 255, 255)


def test_palette_with_transparency(tmp_path):
    p = Image.new("P", (2, 2), 0)
    p.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    p.putpixel((1, 1), 1)
    p.info["transparency"] = 0
    p.save(tmp_path / "p.png", transparency=0)
    pixels = np.asarray(open_image(tmp_path / "p.png"))
    assert tuple(pixels[0, 0]) == (255, 255, 255)
    assert tuple(pixels[1, 1]) == (10, 200, 30)


@pytest.mark.parametrize("mode, value", [("L", 128), ("1", 255), ("CMYK", (0, 0, 0, 0))])
def test_greyscale_bilevel_cmyk_become_rgb(tmp_path, mode, value):
    path = tmp_path / ("x.jpg" if mode == "CMYK" else "x.png")
    Image.new(mode, (3, 3), value).save(path)
    image = open_image(path)
    assert image.mode == "RGB" and image.size == (3, 3)
    r, g, b = np.asarray(image)[1, 1].astype(int)
    assert r == g == b


def test_sixteen_bit_greyscale_is_scaled_not_clipped(tmp_path):
    array = np.array([[0, 32768], [65535, 65535]], dtype=np.uint16)
    Image.fromarray(array).save(tmp_path / "g16.png")
    pixels = np.asarray(open_image(tmp_path / "g16.png"))
    assert pixels[0, 0, 0] == 0 and pixels[0, 1, 0] == 128 and pixels[1, 0, 0] == 255


def test_sixteen_bit_rgb(tmp_path):
    array = np.zeros((2, 2, 3), dtype=np.uint16)
    array[..., 0], array[..., 1] = 65535, 32896
    pixels = np.asarray(open_image(png16_rgb(tmp_path / "rgb16.png", array)))
    assert tuple(pixels[0, 0]) == (255, 128, 0)


def test_load_image_tensor_and_resize_by_longest_side(photo):
    tensor = load_image(photo, size=24)
    assert tensor.shape == (1, 3, 20, 24)
    assert tensor.dtype == torch.float32 and 0 <= tensor.min() and tensor.max() <= 1
    assert resize_longest(Image.new("RGB", (10, 400)), 40).size == (1, 40)
    with pytest.raises(MetastyleError, match="would become 100000x75000 px, over the limit of 100 megapixels"):
        resize_longest(Image.new("RGB", (4, 3)), 100_000)  # refused before PIL asks for 22 GB


@pytest.mark.parametrize("suffix, fmt", [(".png", "PNG"), (".jpg", "JPEG"), (".jpeg", "JPEG"), (".webp", "WEBP")])
def test_save_by_extension_creates_folders(tmp_path, suffix, fmt):
    image = torch.rand(1, 3, 8, 12)
    old_mask = os.umask(0o022)
    try:
        out = save_image(image, tmp_path / "new" / "folder" / f"out{suffix}")
    finally:
        os.umask(old_mask)
    with Image.open(out) as saved:
        assert saved.format == fmt and saved.size == (12, 8)
    assert list(out.parent.iterdir()) == [out]  # no temporary file left behind
    assert out.stat().st_mode & 0o777 == 0o644  # the umask's mode, not mkstemp's private 0600


def test_png_round_trip_is_exact(tmp_path):
    image = torch.randint(0, 256, (1, 3, 5, 7)).float() / 255
    assert torch.equal(load_image(save_image(image, tmp_path / "x.png")), image)


def test_bad_files_give_one_line_errors(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello")
    cases = {
        tmp_path / "missing.png": "no such file",
        tmp_path / "empty.png": "empty",
        tmp_path / "text.png": "not an image",
        png_with_size(tmp_path / "bomb.png", 12_000, 12_000): "over the limit",
        tmp_path: "is a folder",
    }
    for path, message in cases.items():
        with pytest.raises(MetastyleError, match=message) as info:
            open_image(path)
        assert "\n" not in str(info.value)


def test_truncated_image(tmp_path, photo):
    data = photo.read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(MetastyleError, match="truncated or corrupt"):
        open_image(tmp_path / "cut.png")


def test_output_checks(tmp_path, photo):
    with pytest.raises(MetastyleError, match="is an input file"):
        check_output_path(photo, inputs=[photo], overwrite=True)
    with pytest.raises(MetastyleError, match="already exists"):
        check_output_path(photo)
    with pytest.raises(MetastyleError, match="unsupported output extension"):
        check_output_path(tmp_path / "out.gif")
    with pytest.raises(MetastyleError, match="cannot write here"):
        check_output_path(photo / "below-a-file.png")
    assert check_output_path(tmp_path / "a" / "b.png") == tmp_path / "a" / "b.png"
    assert (tmp_path / "a").is_dir() and not list((tmp_path / "a").iterdir())
