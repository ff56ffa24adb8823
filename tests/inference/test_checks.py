"""Predictive checks that can fail: the mid-PIT rule for rounded figures, PSIS-LOO per figure
with its Pareto k, and the binomial rule of the leave-one-out check.

Uses the session's fitted baseline (reduced settings); no extra compilation.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from bayes_koryo.inference import checks


def test_mid_pit_of_points_and_of_rounding_cells():
    draws = np.linspace(0.0, 1.0, 10_001)
    assert checks.mid_pit(draws, 0.3, 0.3) == pytest.approx(0.3, abs=1e-3)
    # a cell around the middle of the replicate: PIT in the middle
    assert checks.mid_pit(draws, 0.4, 0.6) == pytest.approx(0.5, abs=1e-3)
    # a cell that only touches the top of the replicate: PIT near 1, outside the 90%
    edge = checks.mid_pit(draws, 0.99, 5.0)
    assert edge > 0.95
    # weights move it: all the weight on the draws below the cell
    weights = np.where(draws < 0.2, 1.0, 0.0)
    weights /= weights.sum()
    assert checks.mid_pit(draws, 0.4, 0.6, weights) == pytest.approx(1.0)


def _table(outside: int, n: int, reliable: int | None = None) -> pd.DataFrame:
    reliable = n if reliable is None else reliable
    return pd.DataFrame(
        {
            "kind": ["audited_quarterly"] * n,
            "date": [f"2010-01-{i + 1:02d}" for i in range(n)],
            "loo_inside_90": [i >= outside for i in range(n)],
            "loo_reliable": [i >= n - reliable for i in range(n)],  # the last ones
        }
    )


def test_the_leave_one_out_check_fails_only_beyond_chance():
    # 18 figures, 90% intervals: 2 outside is what a calibrated model gives
    assert checks.loo_failures(_table(2, 18)) == []
    # 6 of 18 outside has binomial tail ~0.006 < 0.01
    (failure,) = checks.loo_failures(_table(6, 18))
    assert "6 of 18 figures outside" in failure and "audited_quarterly 2010-01-01" in failure
    # unreliable figures (Pareto k > 0.7) do not count either way: here the six outside
    assert checks.loo_failures(_table(6, 18, reliable=12)) == []


@pytest.fixture(scope="module")
def ppc(fitted):
    return checks.posterior_predictive_table(fitted)


def test_every_figure_gets_its_in_sample_and_leave_one_out_values(fitted, ppc):
    assert len(ppc) == len(fitted.observations)
    for column in ("pit", "elpd_loo", "pareto_k", "loo_pit", "loo_inside_90", "loo_reliable"):
        assert ppc[column].notna().all(), column
    assert ppc["pit"].between(0, 1).all() and ppc["loo_pit"].between(0, 1).all()
    assert (ppc["loo_reliable"] == (ppc["pareto_k"] <= checks.LOO_K_THRESHOLD)).all()
    assert (ppc["inside_90"] >= ppc["inside_50"]).all()


def test_the_in_sample_check_catches_a_figure_the_model_did_not_see(fitted, ppc):
    """Replace one audited count by 1.5 times its value after the fit: its PIT leaves the
    central 90%, and a rounded figure moved far outside its replicate fails too."""
    model = copy.copy(fitted)
    obs = fitted.observations.copy()
    audited = obs.index[obs["kind"] == "audited_quarterly"][5]
    obs.loc[audited, "value"] *= 1.5
    rounded = obs.index[obs["kind"] == "rounded_statement"][0]  # no other figure's share
    for column in ("value", "lower", "upper"):
        obs.loc[rounded, column] *= 3.0
    obs.attrs.update(fitted.observations.attrs)
    model.observations = obs
    moved = checks.posterior_predictive_table(model)
    assert moved["inside_90"].sum() == ppc["inside_90"].sum() - 2
    assert moved.loc[~moved["inside_90"], "pit"].gt(0.95).all()
