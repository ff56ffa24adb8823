"""Reports: one interval convention, MCSE-backed digits, HDI vs ETI on a skewed posterior."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest
import xarray as xr

from bayes_koryo.outputs import report


def test_every_public_default_uses_the_package_interval_convention():
    assert (report.CI_PROB, report.CI_KIND) == (0.90, "ETI")
    for func in (report.interval, report.summarise):
        params = inspect.signature(func).parameters
        assert params["prob"].default == report.CI_PROB
        assert params["kind"].default == report.CI_KIND


def _skewed(seed=0) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    return xr.DataArray(rng.lognormal(0.0, 1.0, size=(4, 5000)), dims=("chain", "draw"))


def test_eti_and_hdi_differ_correctly_on_a_skewed_posterior():
    draws = _skewed()
    eti = report.interval(draws, 0.9, "ETI")
    hdi = report.interval(draws, 0.9, "HDI")
    flat = draws.values.ravel()
    np.testing.assert_allclose(eti, np.quantile(flat, [0.05, 0.95]), rtol=0.02)
    assert hdi[0] < eti[0] and hdi[1] < eti[1]  # the HDI shifts towards the mode
    assert (hdi[1] - hdi[0]) < (eti[1] - eti[0])  # and is the shortest 90% interval
    inside = np.mean((flat >= hdi[0]) & (flat <= hdi[1]))
    assert inside == pytest.approx(0.9, abs=0.01)
    with pytest.raises(ValueError, match="interval kind"):
        report.interval(draws, 0.9, "HPD")


@pytest.mark.parametrize(
    ("mcse", "value", "decimals", "text"),
    [
        (0.004, 1.0934, 2, "1.09"),
        (0.03, 1.0934, 1, "1.1"),
        (0.2, 1.0934, 0, "1"),
        (4000.0, 1093412.0, -4, "1090000"),
        (1e-9, 1.0934, 2, "1.09"),  # never more than three significant digits
    ],
)
def test_digits_follow_the_monte_carlo_error(mcse, value, decimals, text):
    assert report.supported_decimals(mcse, value=value) == decimals
    assert report.round_to(value, decimals) == text


def test_report_of_a_fit(fitted):
    posterior = fitted.idata["posterior"].to_dataset()
    quantities = report.headline_quantities(posterior, fitted.model.report_dates)
    assert [(q.name, q.date) for q in quantities[:2]] == [
        ("unique_users", "2012-02-02"),
        ("unique_users", "2013-05-28"),
    ]
    table = report.summarise(fitted.idata, quantities, prior=fitted.idata["prior"].to_dataset())
    for field in (
        "quantity",
        "date",
        "median",
        "mean",
        "sd",
        "ci_low",
        "ci_high",
        "ci_prob",
        "ci_kind",
        "prior_ci_low",
        "prior_ci_high",
        "r_hat",
        "ess_bulk",
        "ess_tail",
        "mcse_median",
    ):
        assert field in table.columns
    assert (table["ci_low"] <= table["median"]).all()
    assert (table["median"] <= table["ci_high"]).all()
    assert table["prior_ci_low"].notna().all()
    parts = table[table["quantity"].str.startswith("decomposition_")]["median"].sum()
    total = float(posterior["subscriptions"].sel(date="2013-05-28").median())
    assert parts == pytest.approx(total, rel=0.05)
    text = report.markdown(table, report.probabilities(fitted.idata), dict(fitted.idata.attrs))
    assert "90% ETI" in text and "We estimate that" in text and "run id" in text
    json.loads(table.to_json(orient="records"))


def test_the_methods_paragraph_names_the_sampler_coordinates_of_the_run():
    """A referee reads how the posterior was sampled: the pinned coordinates of the config,
    none for the original coordinates or for a run file from before they existed."""
    import json

    from bayes_koryo.model.config import default_config
    from bayes_koryo.outputs.report import _coordinates_text

    pinned = _coordinates_text(json.dumps(default_config().to_dict()))
    assert "log subscription ceiling" in pinned and "the restricted pace" in pinned
    logistic = _coordinates_text(
        json.dumps(default_config().replace(growth={"form": "logistic"}).to_dict())
    )
    assert "ceiling share:" in logistic and "innovation rate" not in logistic
    original = default_config().replace(sampler={"coordinates": "original"}).to_dict()
    assert _coordinates_text(json.dumps(original)) == ""
    del original["sampler"]["coordinates"]  # a 0.3 run file: original coordinates
    assert _coordinates_text(json.dumps(original)) == ""


def test_an_access_cohorts_fit_reports_user_share_at_every_date_and_the_early_shares():
    """With access cohorts U/S changes over time: the report lists it at each report date
    (Feb 2012 and May 2013 first) and the early cohort's two shares; a constant-composition
    model lists neither."""
    import pymc as pm

    from bayes_koryo.data import load_observations
    from bayes_koryo.model.config import default_config
    from bayes_koryo.model.graph import build_model
    from bayes_koryo.outputs.quantities import EARLY_SHARES, composition_changes

    config = default_config().replace(structure={"composition": "access_cohorts"})
    model = build_model(load_observations(), config)
    draws = pm.sample_prior_predictive(draws=50, model=model, random_seed=2)["prior"]
    draws = draws.to_dataset()
    assert composition_changes(draws)
    quantities = report.headline_quantities(draws, model.report_dates)
    by_date = [q.date for q in quantities if q.variable == "real_user_share_by_date"]
    users = [q.date for q in quantities if q.variable == "unique_users"]
    assert by_date == users and by_date[:2] == ["2012-02-02", "2013-05-28"]
    assert {q.variable for q in quantities} >= set(EARLY_SHARES)
    baseline = report.headline_quantities(
        draws.drop_vars(["real_user_share_by_date", *EARLY_SHARES]), model.report_dates
    )
    assert not {q.variable for q in baseline} & {"real_user_share_by_date", *EARLY_SHARES}
