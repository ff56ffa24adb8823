"""The git state of the source checkout, for the provenance of generated documents.

The scripts and benchmarks that write ``docs/`` and ``benchmarks/`` record which commit produced
a table. Installed from a wheel there is no checkout: both functions then return ``None``.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
"""The folder above the package: the checkout's root when run from a clone."""


def _git(*args: str) -> str | None:
    """Return the stdout of ``git -C ROOT args``, or None when git or the repository is missing."""
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def commit(short: bool = True) -> str | None:
    """Return the checked-out commit (abbreviated unless ``short`` is False), or None."""
    return _git("rev-parse", *(["--short"] if short else []), "HEAD") or None


def dirty() -> bool | None:
    """Return True when tracked files differ from the commit; None without a checkout."""
    status = _git("status", "--porcelain", "--untracked-files=no")
    return None if status is None else bool(status)


def provenance() -> dict[str, str]:
    """Return the provenance fields of a generated document.

    ``package_version``, ``commit`` (abbreviated; "unknown" without a checkout) and ``date``
    (UTC, to the minute).
    """
    from bayes_koryo.version import __version__

    return {
        "package_version": __version__,
        "commit": commit() or "unknown",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
