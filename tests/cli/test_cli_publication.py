"""Publication commands: report formats, figures, forecasts and check exit codes."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from bayes_koryo import cli
from bayes_koryo.outputs import plots, report


def call(capsys, *args):
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def run_file(fitted, tmp_path_factory):
    return fitted.save(tmp_path_factory.mktemp("pub") / "run.nc")


def test_report_latex_and_html(capsys, run_file, tmp_path):
    from latex_tools import check_latex

    for fmt in ("latex", "html"):
        out = tmp_path / f"report.{fmt}"
        code, _, err = call(capsys, "report", str(run_file), "--format", fmt, "--out", str(out))
        assert code == 0, err
    check_latex((tmp_path / "report.latex").read_text())
    page = (tmp_path / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "90% ETI" in page
    code, _, err = call(capsys, "report", str(run_file), "--format", "docx")
    assert code == 2 and err.count("\n") == 1 and "--format" in err


def test_report_json_is_the_documented_format(capsys, run_file):
    code, out, _ = call(capsys, "report", str(run_file), "--format", "json")
    assert code == 0
    records = json.loads(out)
    assert all(list(r) == list(report.JSON_FIELDS) for r in records)
    assert records[1]["quantity"] == "unique_users" and records[1]["date"] == "2013-05-28"
    assert records[-1]["quantity"].startswith("decomposition_")
    assert {r["date"] for r in records if r["quantity"] == "sims_per_user"} == {None}


def test_plot_functions_return_tidy_data(fitted):
    import matplotlib.pyplot as plt

    for func in (
        plots.trajectory,
        plots.decomposition,
        plots.prior_posterior,
        plots.predictive_check,
    ):
        _fig, data = func(fitted, return_data=True)
        assert isinstance(data, pd.DataFrame) and len(data) > 0
        assert func(fitted).__class__.__name__ == "Figure"
        plt.close("all")
    _, traj = plots.trajectory(fitted, return_data=True)
    assert {
        "unique_users",
        "subscriptions",
        "reported_audited_quarterly",
        "reported_milestone",
    } <= set(traj["series"])
    cells = traj[traj["series"] == "reported_milestone"]
    assert (cells["cell_low"] <= cells["value"]).all()
    assert (cells["value"] <= cells["cell_high"]).all()
    curve = traj[traj["series"] == "unique_users"]
    assert (curve["low"] <= curve["low50"]).all() and (curve["high50"] <= curve["high"]).all()
    _, dec = plots.decomposition(fitted, return_data=True)
    parts = dec[dec["part"] != "total"]["median"].sum()
    assert parts == pytest.approx(dec[dec["part"] == "total"]["median"].iloc[0], rel=0.05)
    _, pp = plots.prior_posterior(fitted, return_data=True)
    from bayes_koryo.model.graph import free_parameters

    assert set(pp["parameter"]) == set(free_parameters(fitted.config))


def test_plot_command_writes_png_and_pdf(capsys, run_file, tmp_path):
    code, _, err = call(capsys, "plot", str(run_file), "--out", str(tmp_path / "figs"))
    assert code == 0, err
    from bayes_koryo.outputs.arviz_figures import ARVIZ_FIGURES

    for name in (*plots.FIGURES, *ARVIZ_FIGURES):
        for fmt in plots.FORMATS:
            path = tmp_path / "figs" / f"run_{name}.{fmt}"
            assert path.is_file() and path.stat().st_size > 10_000, path
    assert not list((tmp_path / "figs").glob(".*"))  # no temporary files left behind


def test_forecast_command(capsys, run_file):
    code, out, err = call(
        capsys, "forecast", str(run_file), "--date", "2014-06-30", "--date", "2013-05-28"
    )
    assert code == 0, err
    records = json.loads(out)
    assert [(r["quantity"], r["date"]) for r in records] == [
        ("reported_subscriptions", "2014-06-30"),
        ("reported_subscriptions", "2013-05-28"),
        ("unique_users", "2014-06-30"),
        ("unique_users", "2013-05-28"),
    ]
    assert all(r["ci_low"] <= r["median"] <= r["ci_high"] for r in records)
    code, out, _ = call(capsys, "forecast", str(run_file), "--date", "2014-06-30", "--format", "md")
    assert code == 0 and "90% ETI" in out
    for bad in ("2030-01-01", "2008-01-01"):
        code, out, err = call(capsys, "forecast", str(run_file), "--date", bad)
        assert code == 2 and out == "" and err.count("\n") == 1 and "outside" in err
    code, _, err = call(capsys, "forecast", str(run_file), "--date", "2014-13-01")
    assert code == 2 and "YYYY-MM-DD" in err


def test_check_exit_codes(capsys, run_file, monkeypatch):
    from bayes_koryo.errors import ThresholdError

    assert ThresholdError.exit_code == 1
    code, out, err = call(capsys, "check", str(run_file))  # reduced run: ESS too low
    assert code == 1 and "FAIL: " in out and err.startswith("error:")
    assert "rank uniformity across chains (ArviZ mtc_c, not part of the gate)" in out
    # with every threshold met, check exits 0
    from bayes_koryo.inference import fit

    original = fit.diagnose

    def passing(*args, **kwargs):
        result = original(*args, **kwargs)
        result.messages = []
        return result

    monkeypatch.setattr(fit, "diagnose", passing)
    code, out, err = call(capsys, "check", str(run_file))
    assert code == 0, out + err
    assert "all checks passed" in out
