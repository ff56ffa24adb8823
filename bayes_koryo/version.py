"""The package's name and version.

The version is the installed distribution's, or the source tree's when the package runs
uninstalled. Every layer may import this module; it imports nothing of ours.
"""

from importlib import metadata

PACKAGE = "bayes_koryo"
SOURCE_TREE_VERSION = "0.5.0"  # keep equal to pyproject.toml's version (tested)


def package_version() -> str:
    """Version of the installed bayes_koryo distribution, else of this source tree."""
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return SOURCE_TREE_VERSION


__version__ = package_version()
