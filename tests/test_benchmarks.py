"""benchmarks/: run.py's argument parsing, machine facts and results layout (no timing); the
BENCHMARKS.md tables the geometry and production-draws scripts generate."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_and_out_are_parsed(bench, tmp_path):
    args = bench.parse_args(["--quick", "--out", str(tmp_path / "r.json"), "--skip", "peer"])
    assert args.quick and args.out == tmp_path / "r.json" and args.skip == ["peer"]
    assert bench.parse_args([]).quick is False
    assert bench.QUICK["draws"] < bench.FULL["draws"]
    assert bench.FULL["cold_repeats"] >= 3 and bench.FULL["warm_repeats"] >= 5
    with pytest.raises(SystemExit):
        bench.parse_args(["--skip", "everything"])


def test_machine_facts_are_real(bench):
    facts = bench.machine_facts()
    assert facts["cores"] >= 1 and facts["ram_gib"] > 0 and facts["cpu"]
    assert len(facts["git_commit"]) == 40
    assert facts["versions"]["pymc"] and facts["versions"]["nutpie"]


def test_results_layout_and_verdicts(bench):
    results = {
        "schema": bench.SCHEMA,
        "quick": True,
        "machine": bench.machine_facts(),
        "settings": {},
        "cold_fit": {"without_cache": {"median_s": 60.0}, "with_cache": {"median_s": 20.0}},
        "peer": {"without_cache": {"median_s": 300.0}},
        "warm_refit": None,
        "sbc": {"projected_200_minutes": 12.0},
        "efficiency": {"divergences": 0},
        "memory": {"peak_rss_mib": 900.0},
    }
    results["targets"] = bench.verdicts(results)
    bench.validate(results)
    targets = results["targets"]
    assert targets["peer_over_ours"] == {"target": 3.0, "measured": 5.0, "met": True}
    assert targets["cold_fit_median_s"]["met"] is False
    assert targets["cold_fit_no_cache_median_s"] == {"target": 20.0, "measured": 60.0, "met": False}
    table = bench.markdown_table(results)
    assert "| peer_over_ours ≥ 3.0 | 5.0 | yes |" in table
    assert "| warm_refit_median_s ≤ 3.0 | None | not measured |" in table
    assert targets["sbc_200_minutes"]["met"] is False
    assert targets["warm_refit_median_s"]["met"] is None
    assert targets["divergences"]["met"] is True
    del results["memory"]
    with pytest.raises(ValueError, match="memory"):
        bench.validate(results)


@pytest.mark.parametrize("name", ["geometry", "production_draws"])
def test_benchmarks_md_tables_are_generated_from_their_json(name, tmp_path):
    """BENCHMARKS.md's geometry and production-draws blocks are what the scripts write from
    the committed JSON (no typed numbers)."""
    import shutil

    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    copy = tmp_path / "BENCHMARKS.md"
    shutil.copy(ROOT / "BENCHMARKS.md", copy)
    out = ROOT / "benchmarks" / f"{name}.json"
    assert module.main(["--from-json", "--out", str(out), "--markdown", str(copy)]) == 0
    assert copy.read_text(encoding="utf-8") == (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
