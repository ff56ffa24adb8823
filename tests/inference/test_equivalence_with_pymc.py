"""The optimised path (nutpie, post-processing compiled once) gives what plain PyMC gives.

1. ``bayes_koryo.inference.postprocess`` evaluates the same graphs as
   ``pm.compute_deterministics`` and ``pm.stats.compute_log_likelihood`` /
   ``compute_log_prior``: equal to rounding error.
2. A fit with ``KoryoModel.fit`` (nutpie, the pinned sampler coordinates of the package) and
   one with ``pm.sample`` (PyMC's own NUTS, C backend) on ``build_model(...)`` of the same data
   and config in the *original* coordinates (ceiling_share and innovation_rate sampled
   directly) agree within Monte Carlo error, mean by mean: the change of coordinates leaves
   the posterior as it was.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pymc as pm
import pytest

from bayes_koryo.model.graph import build_model, free_parameters, sampler_coordinates
from bayes_koryo.model.priors import prior_distribution

PYMC_SEED = 11  # integer seed of the plain PyMC fit
PYMC_SETTINGS = {"draws": 500, "tune": 500, "chains": 2, "cores": 2}
Z_MAX = 4.0
"""|difference of means| / sqrt(MCSE_1^2 + MCSE_2^2) must stay below this for every compared
quantity. ~23 comparisons (the prior quantities and five headline quantities); Bonferroni at a
family-wise false-alarm rate of 0.1% gives a two-sided per-comparison z of 4.06
(1e-3 / 23 = 4.3e-5)."""


def _subset(posterior, draws=20):
    return posterior.isel(draw=slice(0, draws))


def test_postprocess_equals_pymc_functions(fitted):
    from bayes_koryo.inference import postprocess

    posterior = _subset(fitted.idata["posterior"].to_dataset())
    free = posterior[[rv.name for rv in fitted.model.free_RVs]]
    ours = postprocess.derived_quantities(fitted, free)
    theirs = pm.compute_deterministics(free, model=fitted.model, progressbar=False)
    assert set(ours) == set(theirs) == {d.name for d in fitted.model.deterministics}
    for name in theirs:
        assert ours[name].dims == theirs[name].dims, name
        np.testing.assert_allclose(ours[name].values, theirs[name].values, rtol=1e-9, err_msg=name)
    log_lik, log_prior = postprocess.log_densities(fitted, free)
    tree = fitted.idata.copy()
    tree["posterior"] = fitted.idata["posterior"].to_dataset().isel(draw=slice(0, 20))
    pinned = sampler_coordinates(fitted.config)
    assert set(pinned) == {
        "log_subscription_ceiling",
        "log_initial_subscription_rate",
        "log_restricted_subscription_rate",
    }
    for ours_group, kind in ((log_lik, "likelihood"), (log_prior, "prior")):
        fn = getattr(pm.stats, f"compute_log_{kind}")
        theirs = fn(tree, model=fitted.model, extend_inferencedata=False, progressbar=False)
        theirs = theirs.to_dataset() if hasattr(theirs, "to_dataset") else theirs
        # log_prior holds the prior quantities on their own scale, not the pinned coordinates
        expected = (
            set(theirs) - set(pinned) | set(pinned.values()) if kind == "prior" else set(theirs)
        )
        assert set(ours_group) == expected, kind
        for name in set(theirs) - set(pinned):
            np.testing.assert_allclose(
                ours_group[name].values, theirs[name].values, rtol=1e-9, atol=1e-12, err_msg=name
            )
    # the pinned quantities: their prior on their own scale (no Jacobian), against the prior
    # with numeric parameters. atol: PyTensor's compiled log-Beta function for parameters that
    # are inputs differs from the constant-folded one by ~2.4e-6 nats (measured); a missing or
    # extra Jacobian term would differ by |log ceiling_share| > 0.5.
    for quantity in pinned.values():
        frozen = prior_distribution(fitted.config.priors[quantity])
        value = posterior[quantity].values
        np.testing.assert_allclose(
            log_prior[quantity].values,
            pm.logp(frozen, value).eval(),
            rtol=0,
            atol=1e-5,
            err_msg=quantity,
        )
    # and the fitted run's groups are what the compiled functions give
    np.testing.assert_allclose(
        fitted.idata["posterior"]["unique_users"].values[:, :20], ours["unique_users"].values
    )


@pytest.fixture(scope="module")
def pymc_posterior(fitted):
    """Plain PyMC on the original coordinates: the model built by build_model with
    ``sampler.coordinates = "original"``, sampled with pm.sample (PyMC NUTS, C backend)."""
    config = fitted.config.replace(sampler={"coordinates": "original"})
    model = build_model(fitted.observations, config)
    assert not sampler_coordinates(config)
    assert {"ceiling_share", "innovation_rate", "restricted_pace"} <= {
        rv.name for rv in model.free_RVs
    }
    with model:
        idata = pm.sample(
            **PYMC_SETTINGS,
            random_seed=PYMC_SEED,
            nuts_sampler="pymc",
            backend="c",
            target_accept=fitted.config.sampler.target_accept,
            progressbar=False,
            compute_convergence_checks=False,
        )
    return idata


def _mean_and_mcse(draws) -> tuple[float, float]:
    mean = float(draws.mean())
    mcse = float(
        az.mcse(draws.values.reshape(draws.sizes["chain"], draws.sizes["draw"]), method="mean")
    )
    return mean, mcse


def test_nutpie_and_plain_pymc_agree_within_monte_carlo_error(fitted, pymc_posterior):
    ours = fitted.idata["posterior"]
    theirs = pymc_posterior["posterior"]
    quantities = {name: (ours[name], theirs[name]) for name in free_parameters(fitted.config)}
    for name in ("user_ceiling", "sims_per_user", "decomposition_unique_users"):
        quantities[name] = (ours[name], theirs[name])
    for name in ("unique_users", "penetration_10plus"):
        quantities[f"{name}[2013-05-28]"] = (
            ours[name].sel(date="2013-05-28"),
            theirs[name].sel(date="2013-05-28"),
        )
    assert len(quantities) >= 20
    z = {}
    for name, (a, b) in quantities.items():
        mean_a, mcse_a = _mean_and_mcse(a)
        mean_b, mcse_b = _mean_and_mcse(b)
        assert np.isfinite(mcse_a) and np.isfinite(mcse_b) and mcse_a > 0 and mcse_b > 0, name
        z[name] = abs(mean_a - mean_b) / np.hypot(mcse_a, mcse_b)
    worst = max(z, key=z.get)
    assert z[worst] < Z_MAX, {k: round(float(v), 2) for k, v in z.items()}
