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
    unused = [
        name
        for name in _declared()
        if MODULE_OF.get(name, name.replace("-", "_")) not in imported
        and name not in USED_WITHOUT_IMPORT
    ]
    assert not unused, f"declared but never imported by bayes_koryo: {unused}"
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "bayes_koryo").rglob("*.py"))
    assert 'engine="h5netcdf"' in source


def _optional(extra: str) -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = project["optional-dependencies"][extra]
    return [re.split(r"[\[<>=!~ ]", spec, maxsplit=1)[0] for spec in specs]


OPTIONAL_MODULES = {"dask", "distributed"}
"""Modules of the optional extra ``[dask]``: imported only inside functions, behind a one-line
error that names the extra."""


def test_optional_dependencies_are_imported_lazily():
    assert "dask" in _optional("dask") and "bayes_koryo" in _optional("dev")  # [dask]
    assert "dask" not in _declared()
    for path, tree in _package_modules():
        for node in tree.body:  # module level only
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module.split(".")[0]]
            assert not OPTIONAL_MODULES & set(names), f"{path}: imports {names} at module level"


def test_every_third_party_import_is_declared():
    standard = set(sys.stdlib_module_names)
    declared = {MODULE_OF.get(name, name.replace("-", "_")) for name in _declared()}
    declared |= {name.replace("-", "_") for name in _optional("dask")}
    # typer brings click (the CLI catches click's exceptions); dask[distributed] brings
    # distributed
    provided = {"click": "typer", "distributed": "dask"}
    undeclared = sorted(
        name
        for name in _imported() - standard - {"bayes_koryo"}
        if name not in declared and provided.get(name) not in declared
    )
    assert not undeclared, f"imported by bayes_koryo but not declared: {undeclared}"


def test_pip_check_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _package_modules():
    for path in sorted((ROOT / "bayes_koryo").rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def test_the_study_definitions_have_one_home():
    """Dates, seed and every name of ``bayes_koryo.study`` are defined there only: no other
    module assigns one of its names at module level or writes one of its dates or its seed
    as a literal, so a change of the study's definitions is one edit."""
    from bayes_koryo import study

    names = {n for n in vars(study) if n.isupper()}
    literals = {*study.HEADLINE_DATES, study.KORYOLINK_LAUNCH.isoformat(), study.PACKAGE_SEED}
    repeated = []
    for path, tree in _package_modules():
        if path.name == "study.py":
            continue
        where = path.relative_to(ROOT)
        for node in tree.body:
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else ([node.target] if isinstance(node, ast.AnnAssign) else [])
            )
            repeated += [
                f"{where}:{node.lineno} defines {t.id}"
                for t in targets
                if isinstance(t, ast.Name) and t.id in names
            ]
        repeated += [
            f"{where}:{node.lineno} writes {node.value!r}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and not isinstance(node.value, bool)
            and node.value in literals
        ]
    assert not repeated, f"study definitions repeated: {repeated}"


LAYERS = (
    "version",
    "errors",
    "checkout",
    "study",
    "atomic",
    "data",
    "model",
    "inference",
    "outputs",
    "validation",
    "cli",
)
"""The package's layers, bottom to top (ARCHITECTURE.md): a module may import its own layer
and the ones below it, never one above."""


def _imported_modules(tree: ast.Module):
    """Every ``bayes_koryo...`` module a module imports, function-local imports included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "bayes_koryo":
                yield from (f"bayes_koryo.{alias.name}" for alias in node.names)
            elif node.module.startswith("bayes_koryo."):
                yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("bayes_koryo."))


def test_no_layer_imports_one_above_it():
    def layer(module: str) -> int:
        return LAYERS.index(module.split(".")[1])

    upward, from_root = [], []
    for path, tree in _package_modules():
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        if module in ("bayes_koryo.__init__",):
            continue  # the package root re-exports the public API lazily
        for target in _imported_modules(tree):
            if target.split(".")[1] not in LAYERS:
                from_root.append(f"{module} imports {target}")
            elif layer(target) > layer(module):
                upward.append(f"{module} imports {target}")
    assert not from_root, f"imports of the package root or of an unlisted module: {from_root}"
    assert not upward, f"imports of a higher layer: {upward}"


def test_every_subpackage_and_top_level_module_is_a_listed_layer():
    found = {
        p.stem if p.is_file() else p.name
        for p in (ROOT / "bayes_koryo").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
    }
    assert found == set(LAYERS)


def test_the_source_tree_version_is_the_project_version():
    from bayes_koryo.version import SOURCE_TREE_VERSION

    with open(ROOT / "pyproject.toml", "rb") as fh:
        assert tomllib.load(fh)["project"]["version"] == SOURCE_TREE_VERSION


MAX_FUNCTION_LINES = 80


def test_no_function_is_longer_than_the_limit():
    """Every function of the package fits on a screen (``def`` line to last line)."""
    long = []
    for path, tree in _package_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.name} ({lines} lines)")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_the_shipped_configurations_are_the_models_folder():
    """``bayes-koryo sensitivity`` / ``lfo`` default to the package's configurations, which
    are the repository's ``models/`` (found without a ``./models`` in the working folder)."""
    from bayes_koryo.cli.validation import _model_paths
    from bayes_koryo.model.config import LFO_CONFIGS, shipped_configs

    shipped = shipped_configs()
    assert [p.name for p in shipped] == sorted(p.name for p in (ROOT / "models").glob("*.toml"))
    for path in shipped:
        assert path.read_bytes() == (ROOT / "models" / path.name).read_bytes()
    assert _model_paths(None) == shipped
    assert [p.stem for p in shipped_configs(LFO_CONFIGS)] == list(LFO_CONFIGS)


def test_the_wheel_carries_the_data_and_the_shipped_configurations(tmp_path):
    """A non-editable install gets the bundled CSVs and every models/*.toml as real files.

    The wheel is built from a copy of the sources, so the test leaves no build folder behind.
    """
    import shutil
    import zipfile

    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "bayes_koryo", source / "bayes_koryo", symlinks=True, ignore=ignore)
    shutil.copytree(ROOT / "models", source / "models")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    result = subprocess.run(
        [*command, "-w", str(tmp_path), str(source)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("bayes_koryo-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"bayes_koryo/model/configs/{p.relative_to(ROOT / 'models')}"
        for p in (ROOT / "models").rglob("*.toml")
    }
    assert "bayes_koryo/model/configs/sets/structural_range.toml" in expected
    expected |= {f"bayes_koryo/data/{p.name}" for p in (ROOT / "bayes_koryo/data").glob("*.csv")}
    assert expected <= names, sorted(expected - names)


def test_one_table_writer():
    """Markdown tables are built only by ``bayes_koryo.outputs.tables``; table files (CSV and
    JSON beside Markdown) are written through its ``write_table`` or a report renderer."""
    builders = []
    for folder in ("bayes_koryo", "scripts", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name != "tables.py" and "---|" in path.read_text(encoding="utf-8"):
                builders.append(str(path.relative_to(ROOT)))
    assert not builders, f"Markdown tables built outside outputs/tables.py: {builders}"
