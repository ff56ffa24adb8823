"""Diagnostics beside the convergence gate: ArviZ's multi-chain rank-uniformity test."""

from __future__ import annotations

import numpy as np
import xarray as xr

from bayes_koryo.inference.diagnostics import rank_uniformity


def test_rank_uniformity_rejects_a_chain_that_sampled_elsewhere_and_only_that():
    rng = np.random.default_rng(11)
    same = rng.normal(size=(4, 1000))
    shifted = rng.normal(size=(4, 1000))
    shifted[3] += 0.3  # one chain centred elsewhere: R-hat ~1.005, ranks not uniform
    posterior = xr.Dataset(
        {"same": (("chain", "draw"), same), "shifted": (("chain", "draw"), shifted)}
    )
    table = rank_uniformity(posterior, ["same", "shifted"]).set_index("quantity")
    assert table.loc["shifted", "p_value"] < 1e-4 and table.loc["shifted", "rejects"]
    assert table.loc["same", "p_value"] > 0.01 and not table.loc["same", "rejects"]
