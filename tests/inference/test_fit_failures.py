"""Reliability: sampling that fails is never presented as a result.

A deliberately starved fit (30 draws, 10 warm-up) misses the convergence thresholds: `fit` exits
3 and says so in one line, the saved run is marked unconverged, and every report made from it
carries a visible warning. Uses the session's compiled model (no extra compilation).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bayes_koryo import cli
from bayes_koryo.inference.fit import load_run

ROOT = Path(__file__).resolve().parents[2]
TINY = {"draws": 30, "tune": 10, "chains": 2}


@pytest.fixture(scope="module")
def starved(baseline, tmp_path_factory):
    """A new KoryoModel of the baseline structure (reuses the compiled code), fitted badly."""
    from bayes_koryo.inference.fit import KoryoModel

    model = KoryoModel()
    model.fit(seed=3, **TINY)
    assert model.compile_seconds == 0.0  # the session's compiled model was reused
    path = model.save(tmp_path_factory.mktemp("starved") / "starved.nc")
    return model, path


def test_a_starved_fit_fails_its_diagnostics(starved):
    model, _ = starved
    assert not model.diagnostics.converged
    messages = " ".join(model.diagnostics.messages)
    assert "ess" in messages.lower() or "r-hat" in messages.lower()


def test_the_saved_run_is_marked_unconverged(starved):
    _, path = starved
    run = load_run(path)
    assert run.idata.attrs["converged"] == 0
    assert json.loads(run.idata.attrs["diagnostics_json"])["converged"] is False
    assert not run.diagnostics.converged  # recomputed on load, not just trusted


@pytest.mark.parametrize("fmt", ["md", "csv", "json"])
def test_every_report_of_an_unconverged_run_warns(capsys, starved, tmp_path, fmt):
    _, path = starved
    out = tmp_path / f"report.{fmt}"
    code = cli.main(["report", str(path), "--format", fmt, "--out", str(out)])
    _, err = capsys.readouterr()
    assert code == 0
    assert f"warning: {path} did not pass the convergence checks" in err
    text = out.read_text()
    if fmt == "md":
        assert "WARNING: this run did not pass the convergence checks" in text
    elif fmt == "json":
        assert all(record["converged"] is False for record in json.loads(text))
    else:
        header, *rows = text.splitlines()
        column = header.split(",").index("converged")
        assert rows and all(row.split(",")[column] == "False" for row in rows)


def test_cli_fit_exits_3_saves_marked_and_force_replaces(capsys, baseline, tmp_path):
    out = tmp_path / "short.nc"
    out.write_bytes(b"an older result")
    args = [
        "fit",
        str(ROOT / "models" / "baseline.toml"),
        "--out",
        str(out),
        "--seed",
        "4",
        "--draws",
        "30",
        "--tune",
        "10",
        "--chains",
        "2",
        "--no-progress",
    ]
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code == 2 and "exists already" in err and out.read_bytes() == b"an older result"
    code = cli.main([*args, "--force"])
    err = capsys.readouterr().err
    assert code == 3
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "marked unconverged" in error_lines[0]
    assert err.splitlines()[-1] == error_lines[0]  # the last line says why it failed
    assert load_run(out).idata.attrs["converged"] == 0
    code = cli.main([*args, "--force", "--allow-unconverged"])
    capsys.readouterr()
    assert code == 0
    code = cli.main(["check", str(out)])
    err = capsys.readouterr().err
    assert code != 0 and err.count("error:") == 1


def test_more_draws_is_advised_only_when_effective_sample_sizes_alone_are_short():
    import pandas as pd

    from bayes_koryo.inference.diagnostics import Diagnostics

    def diagnostics(messages):
        return Diagnostics(pd.DataFrame(), 0, 0, [1.0], list(messages))

    assert diagnostics(["user_ceiling: ess-bulk 998 < 1000"]).short_of_draws_only
    assert diagnostics(["a: ess-bulk 998 < 1000", "b: ess-tail 390 < 400"]).short_of_draws_only
    assert not diagnostics([]).short_of_draws_only
    assert not diagnostics(["a: ess-bulk 998 < 1000", "a: R-hat 1.020 > 1.01"]).short_of_draws_only
    assert not diagnostics(
        ["3 divergent transitions after warm-up (required: 0)"]
    ).short_of_draws_only
