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


def test_builtin_names_resolve_to_readable_images():
    path = resolve_image("builtin:wheat-field-with-cypresses")
    assert path.name == "436535.jpg"
    assert open_image(path).mode == "RGB"
    assert str(resolve_image("some/file.png")) == "some/file.png"


def test_unknown_builtin_suggests_names():
    with pytest.raises(MetastyleError, match="did you mean.*wheat-field"):
        resolve_image("builtin:wheat")
