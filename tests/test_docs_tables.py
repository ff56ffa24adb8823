"""Every generated block of the Markdown documents equals what its script writes from the
committed tables: a number in README.md or MODEL.md is never typed.

Cost: reads the committed tables (docs/) and SBC rank files; no fit.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _block(path: Path, begin: str, end: str) -> str:
    text = path.read_text(encoding="utf-8")
    assert text.count(begin) == 1 and text.count(end) == 1, f"{path}: markers {begin} {end}"
    return text.split(begin, 1)[1].split(end, 1)[0].strip("\n")


def test_model_md_sensitivity_blocks_are_generated_from_the_committed_tables():
    docs = _script("model_docs")
    for name, text in docs.blocks(ROOT / "docs").items():
        assert _block(ROOT / "MODEL.md", *docs.MARKERS[name]) == text.strip("\n"), (
            f"MODEL.md block {name!r} differs from scripts/model_docs.py's output: "
            "rerun it with --markdown MODEL.md"
        )


def _sbc_runs(sbc_docs, folder: str):
    dirs = [Path(f"{folder}/seed_20131126"), Path(f"{folder}/seed_20131127")]
    pooled = Path(f"{folder}/pooled")
    runs = [(f"run {chr(65 + i)} (`{d}`)", sbc_docs.load(d)) for i, d in enumerate(dirs)]
    runs.append((f"pooled (`{pooled}`)", sbc_docs.load(pooled)))
    return dirs, pooled, runs


def test_model_md_sbc_table_and_readme_sentence_are_generated_from_the_sbc_outputs(monkeypatch):
    monkeypatch.chdir(ROOT)  # the table names the run folders by their relative paths
    sbc_docs = _script("sbc_docs")
    dirs, pooled, runs = _sbc_runs(sbc_docs, "docs/sbc")
    assert _block(ROOT / "MODEL.md", sbc_docs.BEGIN, sbc_docs.END) == sbc_docs.markdown(runs)
    _, _, earlier = _sbc_runs(sbc_docs, "docs/sbc_0.4.0")
    assert _block(ROOT / "MODEL.md", *sbc_docs.markers("sbc-0.4.0")) == sbc_docs.markdown(earlier)
    import xarray as xr

    meta, table, _ = sbc_docs.load(pooled)
    with xr.open_datatree(pooled / "sbc_ranks.nc", engine="h5netcdf") as tree:
        version = tree.attrs["version_bayes_koryo"]
    sentence = sbc_docs.readme_status(meta, table, version, len(dirs))
    assert _block(ROOT / "README.md", sbc_docs.README_BEGIN, sbc_docs.README_END) == sentence


def test_readme_headline_is_the_committed_headline_file():
    docs = _script("make_docs")
    headline = (ROOT / "docs" / "headline.md").read_text(encoding="utf-8").strip("\n")
    assert _block(ROOT / "README.md", docs.START, docs.END) == headline


@pytest.mark.parametrize("name", ["model_docs", "sbc_docs", "make_docs", "launch_years"])
def test_every_docs_script_names_the_files_it_reads(name):
    assert "docs/" in (ROOT / "scripts" / f"{name}.py").read_text(encoding="utf-8")


def test_launch_years_script_holds_the_stated_prior_and_reads_the_bundled_counts():
    from scipy import stats

    from bayes_koryo.data import load_observations

    launch = _script("launch_years")
    held = launch.held_prior()
    prior = stats.beta(held["alpha"], held["beta"])
    assert prior.mean() == pytest.approx(launch.PYONGYANG_SHARE, abs=1e-4)
    assert prior.std() == pytest.approx(launch.PYONGYANG_SD, rel=0.01)
    rows = launch.net_additions(load_observations())
    assert rows[0]["date"] == "2008-12-31" and rows[-1]["date"] == launch.LAUNCH_YEARS_END
    for before, after in itertools.pairwise(rows):
        assert after["added"] == after["subscribers"] - before["subscribers"]
