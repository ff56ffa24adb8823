"""Shared, expensive fixtures: the baseline model compiled and fitted once per session."""

from __future__ import annotations

import pytest

FIXTURE_SEED = 7
FIXTURE_SETTINGS = {"draws": 250, "tune": 400, "chains": 2}
"""Reduced settings: these fixtures test plumbing (save/load, seeds, forecasts, reports),
not sampling quality, which the full-settings checks cover."""


@pytest.fixture(scope="session")
def baseline():
    """The baseline KoryoModel on the bundled data, compiled (nutpie) but not fitted."""
    from bayes_koryo.inference.fit import KoryoModel

    model = KoryoModel()
    model.compiled()
    return model


@pytest.fixture(scope="session")
def fitted(baseline):
    """The baseline fitted with reduced settings, with prior and posterior predictive draws."""
    baseline.fit(seed=FIXTURE_SEED, **FIXTURE_SETTINGS)
    baseline.sample_prior_predictive(draws=500)
    baseline.sample_posterior_predictive()
    return baseline
