"""Fitting plumbing on a reduced-settings fit: seeds, refits without recompiling, forecasts,
saved runs and their checks, reports."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bayes_koryo.errors import ConfigError, ResultFileError
from bayes_koryo.inference.fit import load_run
from tests.conftest import FIXTURE_SEED, FIXTURE_SETTINGS


def test_fit_stores_everything_a_referee_asks_for(fitted):
    tree = fitted.idata
    for group in (
        "posterior",
        "sample_stats",
        "log_likelihood",
        "log_prior",
        "observed_data",
        "prior",
        "posterior_predictive",
    ):
        assert group in tree.children, group
    assert tree.attrs["seed"] == FIXTURE_SEED and tree.attrs["sampler"] == "nutpie"
    log_lik = tree["log_likelihood"].to_dataset()
    assert {
        f"reported_{k}" for k in ("audited_quarterly", "milestone", "activity_statement")
    } <= set(log_lik)
    assert np.isfinite(tree["log_prior"]["official_share"].values).all()
    replicated = tree["posterior_predictive"]["reported_subscriptions"]
    assert replicated.dims == ("chain", "draw", "date")
    ratio = float((replicated / tree["posterior"]["subscriptions"]).median())
    assert ratio == pytest.approx(1.0, abs=0.005)
    summary = fitted.diagnostics.summary()
    assert {"divergences", "max_r_hat", "min_ess_bulk", "min_ebfmi", "max_treedepth_hits"} <= set(
        summary
    )


def test_same_seed_same_draws_without_recompiling(fitted):
    compiled = fitted.compiled()
    first = fitted.idata["posterior"]["user_ceiling"].values.copy()
    fitted_again = fitted.fit(seed=FIXTURE_SEED, **FIXTURE_SETTINGS)
    assert fitted.compiled() is compiled
    np.testing.assert_array_equal(fitted_again["posterior"]["user_ceiling"].values, first)
    fitted.sample_prior_predictive(draws=500)
    fitted.sample_posterior_predictive()


def test_forecast_reproduces_the_grid_and_moves_forward(fitted):
    grid_date = "2013-05-28"
    fc = fitted.forecast([grid_date, "2014-06-30", "2016-06-30"])
    on_grid = fitted.idata["posterior"]["unique_users"].sel(date=grid_date).values
    np.testing.assert_allclose(fc["unique_users"].isel(forecast_date=0).values, on_grid, rtol=1e-9)
    medians = fc["unique_users"].median(("chain", "draw")).values
    assert medians[0] < medians[1] < medians[2]
    ratio = (fc["reported_subscriptions"] / fc["unique_users"]).median().item()
    assert ratio == pytest.approx(
        fitted.idata["posterior"]["sims_per_user"].median().item(), rel=0.02
    )
    with pytest.raises(ConfigError, match="outside the model's window"):
        fitted.forecast(["2030-01-01"])


def test_save_load_round_trip(fitted, tmp_path):
    path = fitted.save(tmp_path / "run.nc")
    loaded = load_run(path)
    assert loaded.config.to_dict() == fitted.config.to_dict()
    np.testing.assert_array_equal(
        loaded.idata["posterior"]["unique_users"].values,
        fitted.idata["posterior"]["unique_users"].values,
    )
    attrs = loaded.idata.attrs
    assert attrs["seed"] == FIXTURE_SEED and len(attrs["run_id"]) == 16
    assert json.loads(attrs["versions_json"])["pymc"]
    assert json.loads(attrs["sampler_json"])["sampler"] == "nutpie"
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left behind


def test_existing_run_is_not_overwritten(fitted, tmp_path):
    path = fitted.save(tmp_path / "run.nc")
    before = path.read_bytes()
    with pytest.raises(ResultFileError, match="exists already"):
        fitted.save(path)
    assert path.read_bytes() == before


def test_load_refuses_damaged_or_foreign_files(fitted, tmp_path):
    import xarray as xr

    path = fitted.save(tmp_path / "run.nc")
    truncated = tmp_path / "truncated.nc"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    with pytest.raises(ResultFileError, match="not a readable netCDF run file"):
        load_run(truncated)
    foreign = tmp_path / "foreign.nc"
    xr.Dataset({"x": ("i", np.arange(3.0))}).to_netcdf(foreign, engine="h5netcdf")
    with pytest.raises(ResultFileError, match="not a bayes_koryo run"):
        load_run(foreign)
    tree = xr.open_datatree(path, engine="h5netcdf").load()
    tree["input_data"]["value"].values[0] += 1.0
    tampered = tmp_path / "tampered.nc"
    tree.to_netcdf(tampered, engine="h5netcdf")
    with pytest.raises(ResultFileError, match="do not match the data hash"):
        load_run(tampered)
    tree.attrs["package_version"] = "99.0.0"
    tree.to_netcdf(tmp_path / "future.nc", engine="h5netcdf")
    with pytest.raises(ResultFileError, match="incompatible"):
        load_run(tmp_path / "future.nc")


def test_set_priors_refits_without_recompiling(fitted):
    """New prior values reach the shared compiled code as data: no compilation, new posterior."""
    from bayes_koryo.inference.fit import KoryoModel

    model = KoryoModel(fitted.config, fitted.observations)
    model.set_priors({"official_share": {"alpha": 20.0, "beta": 20.0}})
    post = model.fit(seed=3, **FIXTURE_SETTINGS)["posterior"]
    assert model.compile_seconds == 0.0
    assert float(post["official_share"].mean()) > 0.4  # prior mean 0.5 vs default 0.13
    assert float(fitted.idata["posterior"]["official_share"].mean()) < 0.25  # untouched
    with pytest.raises(ConfigError, match="changes family"):
        model.set_priors({"deviation_scale": {"dist": "Gamma", "alpha": 2.0, "beta": 8.0}})


def test_forecast_simulation_and_graph_share_one_generative_core(fitted):
    """The forecast, the simulator and the PyMC graph are one model: the forecast reproduces
    the graph's U(t) and S(t) at every date of the grid it interpolates, with the graph's
    audited-count reporting error; the simulator's truths are the graph's own prior draws."""
    import pymc as pm

    from bayes_koryo.model.simulate import simulate_observations

    post = fitted.idata["posterior"]
    dates = [str(d)[:10] for d in post["date"].values[::6]]
    fc = fitted.forecast(dates, seed=3)
    for name in ("unique_users", "subscriptions"):
        graph = post[name].sel(date=dates).transpose("chain", "draw", "date").values
        forecast = (
            fc["unique_users"].values
            if name == "unique_users"
            else fc["unique_users"].values * post["sims_per_user"].values[..., None]
        )
        np.testing.assert_allclose(forecast, graph, rtol=1e-9, err_msg=name)
    noise = np.log(
        fc["reported_subscriptions"].values
        / post["subscriptions"].sel(date=dates).transpose("chain", "draw", "date").values
    )
    sd, n = fitted.config.log_sd["audited_quarterly"], noise.size
    assert abs(noise.std() / sd - 1) < 4 / np.sqrt(2 * n)
    assert abs(noise.mean()) < 4 * sd / np.sqrt(n)
    _, truth = simulate_observations(fitted, seed=12)
    model = fitted.model
    names = [v.name for v in (*model.free_RVs, *model.deterministics, *model.observed_RVs)]
    drawn = pm.draw([model[n] for n in names], random_seed=12)
    for name, value in zip(names, drawn, strict=True):
        np.testing.assert_array_equal(truth[name], value, err_msg=name)
