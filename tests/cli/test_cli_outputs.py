"""Reliability: output locations are checked before any work, result files get ordinary
permissions, and a diagnostic the sampler did not record is never taken as passed.

Uses the session's fitted baseline (reduced settings); no extra compilation.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from contextlib import contextmanager
from pathlib import Path

import pytest

from bayes_koryo import cli
from bayes_koryo.atomic import atomic_write_text, check_output_dir, check_output_file
from bayes_koryo.errors import OutputPathError
from bayes_koryo.inference import fit as inference
from bayes_koryo.inference.diagnostics import diagnose
from bayes_koryo.outputs.report import build_report, forecast_table, render

ROOT = Path(__file__).resolve().parents[2]
BASELINE = str(ROOT / "models" / "baseline.toml")


# --------------------------------------------------------------------------- --out checks


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if a command builds a model (i.e. reads data or compiles)."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model was built before the output location was checked")

    monkeypatch.setattr(inference.KoryoModel, "__init__", refuse)


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("where", ["proc", "folder", "under_a_file", "exists"])
def test_fit_checks_its_output_before_reading_data(capsys, tmp_path, no_model, where):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    out = {
        "proc": Path("/proc/nope/x.nc"),
        "folder": tmp_path,
        "under_a_file": a_file / "x.nc",
        "exists": a_file,
    }[where]
    # the data file does not exist either: the output must be refused first
    code = cli.main(["fit", BASELINE, "--out", str(out), "--data", str(tmp_path / "no.csv")])
    line = _one_error_line(capsys)
    assert code == 2 and str(out) in line and "no.csv" not in line
    assert a_file.read_text() == "not a folder"


def test_every_output_option_is_checked_before_the_work(capsys, tmp_path, no_model):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    calls = [
        ["run", BASELINE, "--out-dir", str(a_file)],
        ["report", str(tmp_path / "missing.nc"), "--out", str(tmp_path)],
        ["plot", str(tmp_path / "missing.nc"), "--out", str(a_file)],
        ["sbc", BASELINE, "--out-dir", str(a_file)],
        ["recovery", BASELINE, "--out-dir", str(a_file)],
        ["sensitivity", BASELINE, "--out-dir", str(a_file)],
        ["lfo", BASELINE, "--out-dir", str(a_file)],
        ["sensitivity-table", str(tmp_path / "missing.nc"), "--out", str(a_file / "table")],
    ]
    for args in calls:
        code = cli.main(args)
        line = _one_error_line(capsys)
        assert code == 2 and str(a_file if "a_file" in " ".join(args) else tmp_path) in line, (
            args,
            line,
        )
        assert "missing.nc" not in line, args  # the run file was not even opened


def test_output_checks_create_folders_and_leave_no_probe(tmp_path):
    target = tmp_path / "new" / "deeper" / "run.nc"
    assert check_output_file(target) == target
    assert target.parent.is_dir() and list(target.parent.iterdir()) == []
    assert check_output_dir(tmp_path / "figs").is_dir()
    atomic_write_text(target, "x")
    with pytest.raises(OutputPathError, match="exists already"):
        check_output_file(target)
    assert check_output_file(target, overwrite=True) == target


# --------------------------------------------------------------------------- permissions


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_result_files_follow_the_umask(fitted, tmp_path, mask, mode):
    from bayes_koryo.outputs.plots import save_figure, trajectory

    with umask(mask):
        text = atomic_write_text(tmp_path / "report.md", "x")
        run = fitted.save(tmp_path / "run.nc")
        fig = trajectory(fitted)
        figure = save_figure(fig, tmp_path / "trajectory.png")
    for path in (text, run, figure):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path


# --------------------------------------------------------------------------- diagnostics


@pytest.mark.parametrize("statistic", ["diverging", "maxdepth_reached", "energy"])
def test_a_missing_sampler_statistic_is_not_measured_and_fails(fitted, tmp_path, capsys, statistic):
    tree = fitted.idata.copy()
    tree["sample_stats"] = tree["sample_stats"].to_dataset().drop_vars(statistic)
    diagnostics = diagnose(tree, fitted.config)
    assert statistic in diagnostics.not_measured and not diagnostics.converged
    assert any(
        f"'{statistic}' is missing" in m and "not measured" in m for m in diagnostics.messages
    )
    summary = diagnostics.summary()
    assert summary["not_measured"] == [statistic]
    key = {
        "diverging": "divergences",
        "maxdepth_reached": "max_treedepth_hits",
        "energy": "min_ebfmi",
    }[statistic]
    assert summary[key] is None
    # and `check` on a saved run without the statistic fails, naming it
    model = inference.KoryoModel.__new__(inference.KoryoModel)
    model.__dict__.update(fitted.__dict__)
    model.idata = tree
    model.diagnostics = diagnostics
    path = model.save(tmp_path / "no_stat.nc")
    code = cli.main(["check", str(path)])
    out = capsys.readouterr().out
    assert code == 1 and f"FAIL: sampler statistic '{statistic}' is missing" in out
    assert "not measured" in out


@pytest.mark.parametrize("converged", [True, False])
def test_converged_is_filled_in_every_output(fitted, converged):
    model = inference.KoryoModel.__new__(inference.KoryoModel)
    model.__dict__.update(fitted.__dict__)
    model.diagnostics = dataclasses.replace(
        fitted.diagnostics, messages=[] if converged else ["forced failure"]
    )
    table = forecast_table(model, ["2014-06-30", "2015-06-30"])
    assert table["converged"].tolist() == [converged] * len(table)
    records = json.loads(render(build_report(model), "json"))
    assert {r["converged"] for r in records} == {converged}
