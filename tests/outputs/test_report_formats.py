"""Publication outputs: one interval convention, MCSE-backed digits, LaTeX/HTML/JSON formats."""

from __future__ import annotations

import importlib
import inspect
import json
import math
import pkgutil
import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from latex_tools import check_latex

import bayes_koryo
from bayes_koryo.cli import reporting
from bayes_koryo.outputs import report

INTERVAL_PARAMETERS = {
    "prob": report.CI_PROB,
    "ci_prob": report.CI_PROB,
    "kind": report.CI_KIND,
    "ci_kind": report.CI_KIND,
}


def _public_functions():
    for info in pkgutil.walk_packages(bayes_koryo.__path__, "bayes_koryo."):
        if any(part.startswith("_") for part in info.name.split(".")) or info.name.startswith(
            ("bayes_koryo.data", "bayes_koryo.cli")
        ):
            continue
        module = importlib.import_module(info.name)
        for name, func in inspect.getmembers(module, inspect.isfunction):
            if func.__module__ == module.__name__ and not name.startswith("_"):
                yield f"{module.__name__}.{name}", func


def test_every_public_default_uses_the_one_interval_convention():
    assert (report.CI_PROB, report.CI_KIND) == (0.90, "ETI")
    checked = []
    for qualname, func in _public_functions():
        for pname, param in inspect.signature(func).parameters.items():
            if pname in INTERVAL_PARAMETERS and param.default is not inspect.Parameter.empty:
                assert param.default == INTERVAL_PARAMETERS[pname], f"{qualname}({pname})"
                checked.append(qualname)
    # the CLI options (typer keeps the default in the Annotated signature)
    for command in (reporting.report, reporting.forecast):
        for pname, param in inspect.signature(command).parameters.items():
            if pname in INTERVAL_PARAMETERS:
                assert param.default == INTERVAL_PARAMETERS[pname], f"cli.{command.__name__}"
                checked.append(f"cli.{command.__name__}")
    for must in (
        "bayes_koryo.inference.summaries.interval",
        "bayes_koryo.outputs.report.summarise",
        "bayes_koryo.outputs.report.build_report",
        "bayes_koryo.outputs.report.forecast_table",
        "bayes_koryo.outputs.plots.trajectory",
        "bayes_koryo.inference.checks.prior_predictive_table",
        "cli.report",
        "cli.forecast",
    ):
        assert must in checked


def _lognormal(seed=1) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    return xr.DataArray(rng.lognormal(0.0, 0.8, size=(4, 4000)), dims=("chain", "draw"))


def test_hdi_lies_left_of_the_eti_on_a_right_skewed_posterior():
    draws = _lognormal()
    eti = report.interval(draws)  # the defaults: 90% ETI
    hdi = report.interval(draws, kind="HDI")
    assert eti == report.interval(draws, 0.9, "ETI")
    assert hdi[0] < eti[0] and hdi[1] < eti[1]
    assert hdi[1] - hdi[0] < eti[1] - eti[0]
    # flat arrays work the same way (checks.py passes them)
    assert report.interval(draws.values.ravel()) == pytest.approx(eti)


def test_interval_kind_is_labelled_in_rows_and_tables():
    draws = _lognormal()
    for kind in ("ETI", "HDI"):
        row = report.summary_row(draws, "x", None, "fraction", kind=kind, prior_draws=draws)
        table = pd.DataFrame([row])
        human = report.formatted(table)
        assert f"90% {kind}" in human.columns and f"prior 90% {kind}" in human.columns
        assert report.KIND_NAMES[kind] in report.table_note(table)
        assert row["ci_kind"] == kind and row["ci_prob"] == 0.9
    with pytest.raises(ValueError, match="interval kind"):
        report.check_kind("HPD")


@pytest.mark.parametrize(
    ("value", "mcse", "text"),
    [
        (1.093412, 0.004, "1.09"),
        (1.093412, 0.03, "1.1"),
        (1093412.0, 40000.0, "1100000"),  # "1.1 million", never "1,093,412"
        (0.51, 0.0022, "0.51"),
        (3.84, 0.038, "3.8"),
    ],
)
def test_numbers_carry_only_the_digits_their_mcse_supports(value, mcse, text):
    assert report.rounded(value, mcse) == text


def test_probabilities_are_shown_as_bounds_when_every_draw_agrees():
    assert report.format_probability(1.0, 0.0, 4000) == "> 0.999"
    assert report.format_probability(0.0, 0.0, 4000) == "< 0.001"
    assert report.format_probability(0.4613, 0.0099, 4000) == "0.46"
    # rounding that would print certainty prints a bound instead
    assert report.format_probability(0.998, 0.0008, 4000) == "> 0.99"
    assert report.format_probability(0.002, 0.0008, 4000) == "< 0.01"


def _synthetic_report() -> report.Report:
    rng = np.random.default_rng(3)
    rows = [
        report.summary_row(
            xr.DataArray(rng.lognormal(0, 0.2, (2, 500)), dims=("chain", "draw")),
            name,
            date,
            "million people",
            prior_draws=rng.lognormal(0, 1, 1000),
        )
        for name, date in (
            ("unique_users", "2013-05-28"),
            ("real_user_share", None),
            ("odd_&_100%_{name}", None),
        )
    ]
    table = pd.DataFrame(rows)
    probs = pd.DataFrame(
        [
            {
                "claim": "P(x < 1.5 & y > 2) <script>",
                "probability": 0.42,
                "mcse": 0.01,
                "draws": 1000,
                "prior_probability": 0.5,
                "prior_draws": 1000,
            }
        ]
    )
    attrs = {
        "run_id": "abc<def>",
        "config_name": "base_line & co",
        "seed": 1,
        "data_hash": "0" * 64,
        "diagnostics_json": json.dumps(
            {
                "converged": True,
                "divergences": 0,
                "max_r_hat": 1.001,
                "min_ess_bulk": 900.0,
                "min_ess_tail": 800.0,
                "max_treedepth_hits": 0,
                "min_ebfmi": 0.9,
            }
        ),
        "versions_json": json.dumps({"bayes_koryo": "0.1.0", "pymc": "6.4.0"}),
        "sampler_json": json.dumps(
            {"sampler": "nutpie", "chains": 2, "draws": 500, "tune": 500, "target_accept": 0.9}
        ),
    }
    return report.Report(table, probs, attrs)


def test_latex_is_a_booktabs_table_with_escaped_text(tmp_path):
    from latex_tools import PDFLATEX, compile_document

    from bayes_koryo.outputs import latex

    rep = _synthetic_report()
    for text in (latex.snippet(rep), latex.supplement(rep)):
        check_latex(text)
        assert r"90\% ETI" in text
    assert r"Odd \& 100\% \{name\}" in latex.supplement(rep)
    if PDFLATEX is not None:  # the escaped oddities compile
        (tmp_path / "t.tex").write_text(latex.supplement(rep) + latex.sentence_tex(rep))
        compile_document(tmp_path, "synthetic", r"\input{t.tex}")


def test_html_is_standalone_and_escaped():
    from bayes_koryo.outputs.webpage import page as webpage

    page = webpage(_synthetic_report())
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "abc&lt;def&gt;" in page and "base_line &amp; co" in page
    assert not re.search(r"(src|href)=", page)  # no external assets


def test_json_fields_parse_and_keep_raw_values():
    rep = _synthetic_report()
    records = json.loads(report.render(rep, "json"))
    assert [list(r) for r in records] == [list(report.JSON_FIELDS)] * len(records)
    assert records[0]["median"] == rep.table["median"].iloc[0]  # raw, not rounded
    assert records[1]["date"] is None
    csv = report.render(rep, "csv")
    assert csv.splitlines()[0] == ",".join(report.JSON_FIELDS)


def test_markdown_has_methods_sentence_and_provenance():
    text = report.render(_synthetic_report(), "md")
    for part in (
        "## Probabilities",
        "## Result sentence",
        "## Methods",
        "## Provenance",
        "We estimate that",
        "(90% ETI",
        "run id",
        "data hash",
        "divergences 0",
        "max R-hat 1.001",
        "pymc 6.4.0",
        "MCSE",
    ):
        assert part in text, part


def test_report_of_the_fitted_model_in_every_format(fitted):
    rep = report.build_report(fitted)
    table = rep.table
    assert [(q, d) for q, d in zip(table["quantity"][:2], table["date"][:2], strict=True)] == [
        ("unique_users", "2012-02-02"),
        ("unique_users", "2013-05-28"),
    ]
    for name in (
        "penetration_10plus",
        "penetration_addressable",
        "sims_per_user",
        "real_user_share",
        "official_share",
        "inactive_share",
        "user_ceiling",
        "subscription_ceiling",
        "decomposition_unique_users",
        "decomposition_inactive_numbers",
    ):
        assert name in set(table["quantity"])
    assert table["prior_ci_low"].notna().all() and (table["ci_low"] <= table["ci_high"]).all()
    assert len(rep.probabilities) >= 4 and rep.probabilities["mcse"].notna().all()
    from bayes_koryo.outputs import latex, webpage

    for fmt in report.TEXT_FORMATS:
        assert report.render(rep, fmt).strip()
    check_latex(latex.snippet(rep))
    assert webpage.page(rep).rstrip().endswith("</html>")
    with pytest.raises(ValueError, match=r"bayes_koryo\.outputs\.latex"):
        report.render(rep, "latex")
    sentence = report.result_sentence(table)
    assert sentence.startswith("We estimate that") and "(90% ETI" in sentence
    hdi = report.build_report(fitted, kind="HDI").table
    assert (hdi["ci_kind"] == "HDI").all()
    assert not np.allclose(hdi["ci_low"], table["ci_low"])


def test_a_run_without_a_prior_group_samples_one_with_a_recorded_seed(fitted):
    import copy

    model = copy.copy(fitted)
    model.idata = fitted.idata.copy()
    del model.idata["prior"]
    del model.idata["prior_predictive"]
    model.idata.attrs.pop("prior_seed", None)
    prior = report.prior_dataset(model, draws=200, seed=11)
    assert prior.sizes["draw"] == 200 and model.idata.attrs["prior_seed"] == 11
    assert "prior" not in fitted.idata.children or fitted.idata["prior"].sizes["draw"] != 200


def test_forecast_table(fitted):
    table = report.forecast_table(fitted, ["2014-06-30", "2013-05-28"])
    assert list(table["quantity"].unique()) == ["reported_subscriptions", "unique_users"]
    assert list(table.columns) == list(report.JSON_FIELDS)
    later = table[(table["quantity"] == "unique_users") & (table["date"] == "2014-06-30")]
    earlier = table[(table["quantity"] == "unique_users") & (table["date"] == "2013-05-28")]
    assert later["median"].iloc[0] >= earlier["median"].iloc[0]
    assert not math.isnan(later["prior_ci_low"].iloc[0])


def test_the_result_sentence_names_the_fitted_data_s_own_count(fitted):
    """The sentence quotes the subscriber figure of the data the run was fitted to on
    28 May 2013, and no count when those data have none."""
    import copy

    from bayes_koryo.outputs import latex

    model = copy.copy(fitted)
    assert (
        "2 million reported subscriptions on 28 May 2013" in report.build_report(model).sentence()
    )
    edited = fitted.observations.copy()
    may = (edited["date"] == "2013-05-28") & (edited["quantity"] == "subscribers")
    edited.loc[may, "value"] = 2_500_000
    model.observations = edited
    rep = report.build_report(model)
    assert "2.5 million reported subscriptions" in rep.sentence()
    from bayes_koryo.outputs.webpage import page

    for text in (report.render(rep, "md"), page(rep), latex.sentence_tex(rep)):
        assert "2.5 million reported subscriptions" in text
    model.observations = fitted.observations[~may]
    sentence = report.build_report(model).sentence()
    assert "million reported subscriptions" not in sentence
    assert "registered SIMs on 28 May 2013" in sentence
