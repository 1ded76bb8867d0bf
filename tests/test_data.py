import pytest

from metastyle.data import builtin_paintings, builtin_photos, builtins, resolve_image
from metastyle.errors import MetastyleError
from metastyle.images import open_image


def test_builtins_cover_paintings_and_photos():
    names = [b.name for b in builtins()]
    assert len(names) == len(set(names))
    assert len(builtin_paintings()) == 174
    assert {"astronaut", "chelsea", "coffee", "china", "flower", "grace-hopper"} <= {p.name for p in builtin_photos()}
    assert all(b.path.is_file() for b in builtins())


def test_photos_ship_with_metastyle_but_motorcycle_needs_scikit_image(monkeypatch):
    from metastyle import data

    shipped = {b.name for b in builtin_photos() if b.path.parent.parent.name == "metastyle"}
    assert shipped == {"astronaut", "chelsea", "coffee", "rocket", "camera", "china", "flower", "grace-hopper"}
    real = data._package_dir
    monkeypatch.setattr(data, "_package_dir", lambda package: None if package == "skimage" else real(package))
    data.builtins.cache_clear()
    try:
        assert resolve_image("builtin:chelsea").is_file()
        with pytest.raises(MetastyleError, match=r"scikit-image: pip install 'metastyle\[samples\]'"):
            resolve_image("builtin:motorcycle")
    finally:
        data.builtins.cache_clear()


def test_builtin_names_resolve_to_readable_images():
    path = resolve_image("builtin:wheat-field-with-cypresses")
    assert path.name == "436535.jpg"
    assert open_image(path).mode == "RGB"
    assert str(resolve_image("some/file.png")) == "some/file.png"


def test_unknown_builtin_suggests_names():
    with pytest.raises(MetastyleError, match="did you mean.*wheat-field"):
        resolve_image("builtin:wheat")


def test_held_out_paintings_and_photos_are_named_and_kept_out_of_training():
    from metastyle.data import HELDOUT_PAINTINGS, HELDOUT_PHOTOS, training_builtins

    paintings = {b.name: b.path for b in builtin_paintings()}
    photos = {b.name: b.path for b in builtin_photos()}
    assert len(set(HELDOUT_PAINTINGS)) == len(HELDOUT_PAINTINGS) >= 20
    assert set(HELDOUT_PAINTINGS) <= set(paintings) and set(HELDOUT_PHOTOS) <= set(photos)
    training = set(training_builtins("painting")) | set(training_builtins("photo"))
    assert not training & ({paintings[n] for n in HELDOUT_PAINTINGS} | {photos[n] for n in HELDOUT_PHOTOS})
    assert len(training_builtins("painting")) == 174 - len(HELDOUT_PAINTINGS)
