"""Dependencies that tell the truth: every declared runtime dependency is used by the package,
and the installed environment is consistent (``pip check``)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MODULE_OF = {"arviz-stats": "arviz_stats", "dask": "dask", "pymc": "pymc"}
"""Import name of a distribution where it differs from the distribution name."""

USED_WITHOUT_IMPORT = {
    "h5netcdf": "xarray's engine for every netCDF file the package writes and reads",
    "h5py": "the HDF5 backend h5netcdf needs (h5netcdf does not require it itself)",
}
"""Declared dependencies the package uses without importing them, and how."""


def _declared() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [re.split(r"[\[<>=!~ ]", spec, maxsplit=1)[0] for spec in project["dependencies"]]


def _imported() -> set[str]:
    """Top-level modules imported anywhere in bayes_koryo (lazy imports included)."""
    names = set()
    for path in (ROOT / "bayes_koryo").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


def test_every_declared_dependency_is_used():
    imported = _imported()
    unused = [name for name in _declared()
              if MODULE_OF.get(name, name.replace("-", "_")) not in imported
              and name not in USED_WITHOUT_IMPORT]
    assert not unused, f"declared but never imported by bayes_koryo: {unused}"
    source = "\n".join(p.read_text(encoding="utf-8")
                       for p in (ROOT / "bayes_koryo").rglob("*.py"))
    assert 'engine="h5netcdf"' in source


def test_every_third_party_import_is_declared():
    standard = set(sys.stdlib_module_names)
    declared = {MODULE_OF.get(name, name.replace("-", "_")) for name in _declared()}
    # typer brings click (the CLI catches click's exceptions); dask[distributed] brings
    # distributed
    provided = {"click": "typer", "distributed": "dask"}
    undeclared = sorted(name for name in _imported() - standard - {"bayes_koryo"}
                        if name not in declared and provided.get(name) not in declared)
    assert not undeclared, f"imported by bayes_koryo but not declared: {undeclared}"


def test_pip_check_is_clean():
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_headline_dates_have_one_home():
    """The dates of the 1M and 2M figures are written once (bayes_koryo.data); every other
    module imports them, so a change of the headline date is one edit."""
    from bayes_koryo.data import HEADLINE_DATES

    repeated = []
    for path in (ROOT / "bayes_koryo").rglob("*.py"):
        if path == ROOT / "bayes_koryo" / "data" / "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in HEADLINE_DATES:
                repeated.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not repeated, f"headline dates written again at {repeated}"
