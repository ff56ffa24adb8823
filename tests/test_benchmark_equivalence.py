"""The optimised path (nutpie, post-processing compiled once) gives what plain PyMC gives.

1. ``bayes_koryo.postprocess`` evaluates the same graphs as ``pm.compute_deterministics`` and
   ``pm.stats.compute_log_likelihood`` / ``compute_log_prior``: equal to rounding error.
2. A fit with ``KoryoModel.fit`` (nutpie) and one with ``pm.sample`` (PyMC's own NUTS, C
   backend) on ``build_model(...)`` of the same data and config agree within Monte Carlo
   error, mean by mean.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pymc as pm
import pytest

from bayes_koryo.model import build_model, free_parameters

PYMC_SEED = 11  # integer seed of the plain PyMC fit
PYMC_SETTINGS = {"draws": 500, "tune": 500, "chains": 2, "cores": 2}
Z_MAX = 4.0
"""|difference of means| / sqrt(MCSE_1^2 + MCSE_2^2) must stay below this for every compared
quantity. ~18 comparisons (free scalars plus U at 2013-05-28); Bonferroni at a family-wise
false-alarm rate of 0.1% gives a two-sided per-comparison z of 4.03 (1e-3 / 18 = 5.6e-5)."""


def _subset(posterior, draws=20):
    return posterior.isel(draw=slice(0, draws))


def test_postprocess_equals_pymc_functions(fitted):
    from bayes_koryo import postprocess

    posterior = _subset(fitted.idata["posterior"].to_dataset())
    free = posterior[[rv.name for rv in fitted.model.free_RVs]]
    ours = postprocess.derived_quantities(fitted, free)
    theirs = pm.compute_deterministics(free, model=fitted.model, progressbar=False)
    assert set(ours) == set(theirs) == {d.name for d in fitted.model.deterministics}
    for name in theirs:
        assert ours[name].dims == theirs[name].dims, name
        np.testing.assert_allclose(ours[name].values, theirs[name].values, rtol=1e-9,
                                   err_msg=name)
    log_lik, log_prior = postprocess.log_densities(fitted, free)
    tree = fitted.idata.copy()
    tree["posterior"] = fitted.idata["posterior"].to_dataset().isel(draw=slice(0, 20))
    for ours_group, kind in ((log_lik, "likelihood"), (log_prior, "prior")):
        fn = getattr(pm.stats, f"compute_log_{kind}")
        theirs = fn(tree, model=fitted.model, extend_inferencedata=False, progressbar=False)
        theirs = theirs.to_dataset() if hasattr(theirs, "to_dataset") else theirs
        assert set(ours_group) == set(theirs), kind
        for name in theirs:
            np.testing.assert_allclose(ours_group[name].values, theirs[name].values,
                                       rtol=1e-9, atol=1e-12, err_msg=name)
    # and the fitted run's groups are what the compiled functions give
    np.testing.assert_allclose(fitted.idata["posterior"]["unique_users"].values[:, :20],
                               ours["unique_users"].values)


@pytest.fixture(scope="module")
def pymc_posterior(fitted):
    """Plain PyMC: the model built by build_model, sampled with pm.sample (PyMC NUTS, C)."""
    model = build_model(fitted.observations, fitted.config)
    with model:
        idata = pm.sample(**PYMC_SETTINGS, random_seed=PYMC_SEED, nuts_sampler="pymc",
                          backend="c", target_accept=fitted.config.sampler.target_accept,
                          progressbar=False, compute_convergence_checks=False)
    return idata


def _mean_and_mcse(draws) -> tuple[float, float]:
    mean = float(draws.mean())
    mcse = float(az.mcse(draws.values.reshape(draws.sizes["chain"], draws.sizes["draw"]),
                         method="mean"))
    return mean, mcse


def test_nutpie_and_plain_pymc_agree_within_monte_carlo_error(fitted, pymc_posterior):
    ours = fitted.idata["posterior"]
    theirs = pymc_posterior["posterior"]
    quantities = {name: (ours[name], theirs[name]) for name in free_parameters(fitted.config)}
    theirs_users = pm.compute_deterministics(
        theirs.to_dataset()[[rv.name for rv in fitted.model.free_RVs]],
        var_names=["unique_users"], model=fitted.model, progressbar=False)["unique_users"]
    quantities["unique_users[2013-05-28]"] = (ours["unique_users"].sel(date="2013-05-28"),
                                              theirs_users.sel(date="2013-05-28"))
    assert len(quantities) >= 15
    z = {}
    for name, (a, b) in quantities.items():
        mean_a, mcse_a = _mean_and_mcse(a)
        mean_b, mcse_b = _mean_and_mcse(b)
        assert np.isfinite(mcse_a) and np.isfinite(mcse_b) and mcse_a > 0 and mcse_b > 0, name
        z[name] = abs(mean_a - mean_b) / np.hypot(mcse_a, mcse_b)
    worst = max(z, key=z.get)
    assert z[worst] < Z_MAX, {k: round(float(v), 2) for k, v in z.items()}
