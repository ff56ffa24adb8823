"""CLI model commands: errors come before any compilation, as one line with an exit code."""

from __future__ import annotations

from pathlib import Path

from bayes_koryo import cli

ROOT = Path(__file__).resolve().parents[2]


def call(capsys, *args):
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_fit_with_a_bad_config_exits_2_before_compiling(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'extends = "%s"\n[priors.official_share]\nbeta = -2\n' % (ROOT / "models" / "baseline.toml")
    )
    code, _, err = call(capsys, "fit", str(bad), "--out", str(tmp_path / "x.nc"))
    assert code == 2
    assert err.count("\n") == 1 and "priors.official_share.beta: must be > 0" in err
    assert not (tmp_path / "x.nc").exists()


def test_fit_refuses_to_overwrite_without_force(capsys, tmp_path):
    out = tmp_path / "run.nc"
    out.write_bytes(b"precious")
    code, _, err = call(capsys, "fit", str(ROOT / "models" / "baseline.toml"), "--out", str(out))
    assert code == 2 and "exists already (use --force" in err
    assert out.read_bytes() == b"precious"


def test_report_on_a_missing_or_foreign_file(capsys, tmp_path):
    code, _, err = call(capsys, "report", str(tmp_path / "none.nc"))
    assert code == 2 and "no such run file" in err
    junk = tmp_path / "junk.nc"
    junk.write_text("not netcdf")
    code, _, err = call(capsys, "report", str(junk))
    assert code == 2 and "not a readable netCDF run file" in err and "Traceback" not in err


def test_report_to_files_in_every_format(capsys, fitted, tmp_path):
    import json

    run = fitted.save(tmp_path / "run.nc")
    for fmt in ("md", "csv", "json"):
        out = tmp_path / f"report.{fmt}"
        code, _, err = call(capsys, "report", str(run), "--format", fmt, "--out", str(out))
        assert code == 0, err
    records = json.loads((tmp_path / "report.json").read_text())
    assert records[0]["quantity"] == "unique_users" and records[0]["date"] == "2012-02-02"
    assert records[0]["ci_kind"] == "ETI" and records[0]["ci_prob"] == 0.9
    code, out, _ = call(capsys, "report", str(run), "--ci-kind", "HDI", "--format", "json")
    assert json.loads(out)[0]["ci_kind"] == "HDI"
    assert "| quantity |" in (tmp_path / "report.md").read_text()
    before = (tmp_path / "report.md").read_text()
    code, _, err = call(capsys, "report", str(run), "--out", str(tmp_path / "report.md"))
    assert code == 2 and "exists already (use --force" in err and err.count("\n") == 1
    assert (tmp_path / "report.md").read_text() == before  # nothing lost
    code, _, err = call(
        capsys,
        "report",
        str(run),
        "--format",
        "csv",
        "--force",
        "--out",
        str(tmp_path / "report.md"),
    )
    assert code == 0 and (tmp_path / "report.md").read_text() != before


def test_check_fails_a_short_run_and_says_why(capsys, fitted, tmp_path):
    """The fixture's reduced run (2 x 250 draws) cannot reach ESS 1000 on the headline."""
    run = fitted.save(tmp_path / "short.nc")
    code, out, err = call(capsys, "check", str(run))
    assert code == 1  # 1: a threshold failed (3 is fit's "unconverged")
    assert any(line.startswith("FAIL: ") and "ess-bulk" in line for line in out.splitlines())
    assert "posterior predictive coverage: 50%" in out
    assert err.strip().startswith("error:") and err.count("\n") == 1
