"""The installed version, read once from the package metadata (models record it)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("metastyle")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
