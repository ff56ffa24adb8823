"""Credible intervals of posterior (or prior) draws, in the package's one convention.

Every interval is ``CI_PROB`` (0.90) equal-tailed (``CI_KIND = "ETI"``) unless the caller asks
for another mass or for the highest-density interval (``bayes_koryo.study``); the numbers come
from ArviZ (``arviz_stats.eti`` / ``hdi``).
"""

from __future__ import annotations

import arviz_stats as azs
import numpy as np
import xarray as xr

from bayes_koryo.study import CI_KIND, CI_KINDS, CI_PROB


def as_draws(draws) -> xr.DataArray:
    """(chain, draw) DataArray from a DataArray or a flat array of draws."""
    if isinstance(draws, xr.DataArray):
        return draws
    values = np.asarray(draws, dtype=float)
    return xr.DataArray(
        values.reshape(1, -1) if values.ndim == 1 else values, dims=("chain", "draw")
    )


def check_kind(kind: str) -> str:
    """Return the interval kind upper-cased; raise ValueError unless it is 'ETI' or 'HDI'."""
    if str(kind).upper() not in CI_KINDS:
        raise ValueError(f"interval kind must be one of {CI_KINDS}, got {kind!r}")
    return str(kind).upper()


def interval(draws, prob: float = CI_PROB, kind: str = CI_KIND) -> tuple[float, float]:
    """(low, high) credible interval of ``kind`` ('ETI' or 'HDI') and mass ``prob``.

    ``draws``: a (chain, draw) DataArray or a flat array of draws.
    """
    kind = check_kind(kind)
    ds = as_draws(draws).rename(None).to_dataset(name="x")
    func = azs.eti if kind == "ETI" else azs.hdi
    bounds = func(ds, prob=prob)["x"].values
    return float(bounds[0]), float(bounds[1])


def interval_label(prob: float = CI_PROB, kind: str = CI_KIND) -> str:
    """'90% ETI': the mass and kind of an interval, as every table heads it."""
    return f"{prob * 100:g}% {kind}"
