"""Reliability: untrusted result files.

Truncated, foreign, edited or tampered run files raise ResultFileError (exit 2 in the CLI, one
line); nothing in the package can unpickle anything. Complements
tests/inference/test_fit.py::test_load_refuses_damaged_or_foreign_files.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from bayes_koryo import cli
from bayes_koryo.errors import ResultFileError
from bayes_koryo.inference.fit import load_run
from bayes_koryo.inference.runs import FORMAT_VERSION, REQUIRED_ATTRS

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "bayes_koryo"


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    return fitted.save(tmp_path_factory.mktemp("untrusted") / "run.nc")


def _tree(path: Path) -> xr.DataTree:
    with xr.open_datatree(path, engine="h5netcdf") as opened:
        return opened.load()


def _edit_input(tree: xr.DataTree, column: str, change) -> None:
    """Replace one stored input-data column (a DataTree node's dataset is read-only)."""
    ds = tree["input_data"].to_dataset()
    ds[column] = ds[column].copy(data=change(ds[column].values))
    tree["input_data"] = xr.DataTree(ds)


def _refused(path: Path, match: str, capsys) -> None:
    with pytest.raises(ResultFileError, match=match) as info:
        load_run(path)
    assert "\n" not in str(info.value)
    code = cli.main(["report", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err


@pytest.mark.parametrize("fraction", [0.0, 0.05, 0.5, 0.9, 0.999])
def test_truncated_files(saved, tmp_path, capsys, fraction):
    cut = tmp_path / "cut.nc"
    data = saved.read_bytes()
    cut.write_bytes(data[: int(len(data) * fraction)])
    _refused(cut, "not a readable netCDF run file|missing|truncated", capsys)


def test_random_bytes_and_plain_hdf5(tmp_path, capsys):
    junk = tmp_path / "junk.nc"
    junk.write_bytes(np.random.default_rng(0).bytes(4096))
    _refused(junk, "not a readable netCDF run file", capsys)
    import h5py

    with h5py.File(tmp_path / "plain.h5", "w") as fh:
        fh["x"] = np.arange(3)
    _refused(tmp_path / "plain.h5", "not a bayes_koryo run", capsys)


def test_a_foreign_datatree_with_a_faked_package_attribute(tmp_path, capsys):
    fake = xr.DataTree.from_dict({"posterior": xr.Dataset({"x": ("draw", np.zeros(3))})})
    fake.attrs.update({"package": "bayes_koryo", "format_version": FORMAT_VERSION})
    from bayes_koryo.version import package_version

    fake.attrs["package_version"] = package_version()
    fake.to_netcdf(tmp_path / "fake.nc", engine="h5netcdf")
    _refused(tmp_path / "fake.nc", "group '(sample_stats|input_data)' is missing", capsys)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda t: t.attrs.update(package_version="0.0.1"), "written by bayes_koryo 0.0.1"),
        (
            lambda t: t.attrs.update(format_version=FORMAT_VERSION + 1),
            "run format .* is not supported",
        ),
        (
            lambda t: t.attrs.update(format_version="one"),
            "run format 'one' is not supported|run format one is not supported",
        ),
        (lambda t: t.attrs.pop("config_json"), "attribute\\(s\\) config_json missing"),
        (lambda t: t.attrs.update(config_json="{not json"), "stored config is invalid"),
        (
            lambda t: t.attrs.update(config_json=json.dumps({"sampler": {"draws": -1}})),
            "stored config is invalid.*sampler.draws",
        ),
        (lambda t: t.attrs.update(data_hash="0" * 64), "do not match the data hash"),
        (lambda t: t.attrs.update(coverage_hash="0" * 64), "other coverage figures"),
        (
            lambda t: _edit_input(t, "source", lambda v: np.full(v.shape, "someone else")),
            "do not match the data hash",
        ),
        (
            lambda t: _edit_input(t, "date", lambda v: v + np.timedelta64(365 * 9, "D")),
            "input data are unreadable|do not build a model|do not match",
        ),
        (
            lambda t: t.__setitem__(
                "posterior", xr.DataTree(t["posterior"].to_dataset().drop_vars("unique_users"))
            ),
            "posterior does not match the model",
        ),
    ],
)
def test_edited_files(saved, tmp_path, capsys, edit, match):
    tree = _tree(saved)
    edit(tree)
    edited = tmp_path / "edited.nc"
    tree.to_netcdf(edited, engine="h5netcdf")
    _refused(edited, match, capsys)


def test_every_required_attribute_is_written(saved):
    assert set(REQUIRED_ATTRS) <= set(_tree(saved).attrs)


def test_temporary_files_are_not_runs(saved, tmp_path, capsys):
    """A dead writer's leftover (.NAME.PID.XXX.tmp) is half a file: refused, not trusted."""
    leftover = tmp_path / ".run.nc.12345.abcdef.tmp"
    leftover.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    _refused(leftover, "not a readable netCDF run file", capsys)


# --------------------------------------------------------------------------- no pickle

UNPICKLERS = re.compile(
    r"\b(pickle|cloudpickle|dill|joblib|shelve|marshal)\b|"
    r"allow_pickle\s*=\s*True|torch\.load|pd\.read_pickle|\.read_pickle\("
)


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_nothing_in_the_package_can_unpickle():
    offenders = []
    for path in _sources():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if (
                UNPICKLERS.search(code)
                and "no pickle" not in line.lower()
                and "pickles anything" not in line.lower()
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_package_imports_no_unpickling_module():
    imported = set()
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    assert not imported & {"pickle", "cloudpickle", "dill", "joblib", "shelve", "marshal"}


def test_run_files_are_opened_with_h5netcdf_only():
    calls = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr
                in (
                    "open_datatree",
                    "open_dataset",
                    "load_dataset",
                    "open_mfdataset",
                    "to_netcdf",
                    "load_datatree",
                )
            ):
                engines = [
                    k.value.value
                    for k in node.keywords
                    if k.arg == "engine" and isinstance(k.value, ast.Constant)
                ]
                calls.append((path.name, node.func.attr, engines))
    assert any(attr == "open_datatree" for _, attr, _ in calls)
    assert all(engines == ["h5netcdf"] for _, _, engines in calls), calls


def test_a_loaded_run_saves_again_with_the_same_run_id(saved, tmp_path):
    """Attributes read back are numpy scalars; the provenance JSON must not change."""
    again = load_run(saved).save(tmp_path / "again.nc")
    assert _tree(again).attrs["run_id"] == _tree(saved).attrs["run_id"]
    assert _tree(again).attrs["sampler_json"] == _tree(saved).attrs["sampler_json"]


def test_a_generated_block_replaces_only_what_is_between_its_markers(tmp_path):
    from bayes_koryo.atomic import replace_marked_block

    path = tmp_path / "doc.md"
    path.write_text("# Title\n<!-- t:begin -->\nold\n<!-- t:end -->\nkept\n", encoding="utf-8")
    replace_marked_block(path, "<!-- t:begin -->", "<!-- t:end -->", "| a |\n| 1 |\n")
    assert (
        path.read_text(encoding="utf-8")
        == "# Title\n<!-- t:begin -->\n| a |\n| 1 |\n<!-- t:end -->\nkept\n"
    )
    path.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"doc\.md: needs exactly one"):
        replace_marked_block(path, "<!-- t:begin -->", "<!-- t:end -->", "x")
    assert path.read_text(encoding="utf-8") == "no markers\n"  # untouched
    assert not list(tmp_path.glob(".*"))  # no temporary file left


def test_quantities_left_out_of_the_file_come_back_bit_identical(fitted, saved):
    from bayes_koryo.inference.runs import RECOMPUTED_GROUPS, RECOMPUTED_ON_READ

    raw = _tree(saved)
    loaded = load_run(saved).idata
    for group in RECOMPUTED_GROUPS:
        for name in RECOMPUTED_ON_READ:
            assert name not in raw[group].to_dataset()  # not stored
            restored = loaded[group][name]
            original = fitted.idata[group][name]
            assert restored.dims == original.dims
            np.testing.assert_array_equal(restored.values, original.values)


def test_a_format_1_file_that_stores_every_quantity_still_reads(fitted, saved, tmp_path):
    tree = _tree(saved)
    for group in ("posterior", "prior"):
        tree[group] = xr.DataTree(fitted.idata[group].to_dataset())  # as format 1 stored it
    tree.attrs["format_version"] = 1
    old = tmp_path / "format1.nc"
    tree.to_netcdf(old, engine="h5netcdf")
    loaded = load_run(old).idata
    np.testing.assert_array_equal(
        loaded["posterior"]["penetration_10plus"].values,
        fitted.idata["posterior"]["penetration_10plus"].values,
    )
