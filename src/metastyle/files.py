"""Where metastyle keeps its caches, and how it writes files so that none is ever half-written."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import MetastyleError


def cache_dir() -> Path:
    """The user's cache folder for metastyle (XDG_CACHE_HOME respected), created on demand."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(root) / "metastyle"
    try:  # not proved writable: a read-only cache that holds the VGG-19 weights serves them still
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise MetastyleError(f"{path}: cannot make the cache folder ({error.strerror or error})") from None
    return path


def writable_folder(path: str | os.PathLike) -> Path:
    """Create the folder if need be and prove that a file can be written in it: fail in one line
    before a long job, not with a traceback after it."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise MetastyleError(f"{path}: cannot write here (it is a file, not a folder)")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise MetastyleError(f"{path}: cannot write here ({error.strerror or error})") from None
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename.

    A crash or an exception while writing leaves the old file (or nothing) in place, never a
    truncated one.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_sha256(path: str | os.PathLike) -> str:
    """The content hash that names cached adaptations and goes into model metadata."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
