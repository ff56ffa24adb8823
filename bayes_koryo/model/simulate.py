"""Simulated data sets from the model itself (parameter recovery, SBC).

``simulate_observations(model, seed)`` draws one parameter set from the prior and the
reported figures it implies, and returns them as an observations table with the same
dates, kinds and rounding-cell geometry as the real data — so the compiled model can be
refitted on it with ``KoryoModel.set_observations`` (no recompilation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm

from bayes_koryo.model.graph import MILLION, observation_blocks, time_grid


def prior_draw(model: pm.Model, names: list[str], seed: int) -> list[np.ndarray]:
    """Draw the variables ``names`` of ``model`` jointly, once.

    The same values as ``pm.draw(..., random_seed=seed)``, but compiled once per model and
    list of names (a compile takes ~10 s; SBC simulates hundreds of data sets).
    """
    from pymc.pytensorf import compile as compile_pymc
    from pymc.pytensorf import reseed_rngs
    from pymc.util import _get_seeds_per_chain

    cached = getattr(model, "_prior_draw", None)
    if cached is None or cached[0] != names:
        with model:
            fn, updates = compile_pymc(
                [], [model[n] for n in names], random_seed=False, return_updates=True
            )
        cached = model._prior_draw = (list(names), fn, list(updates))
    _, fn, rngs = cached
    (seed,) = _get_seeds_per_chain(seed, 1)
    reseed_rngs(rngs, seed)
    return fn()


def simulate_observations(kmodel, seed: int) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Return (simulated observations, true values of every free and derived variable).

    Exactly the observation model of ``build_model``: an audited count is the replicate
    itself; for a rounded figure the replicate falls in one cell of a partition of the log
    scale into cells as wide as the real one (aligned with it), and that cell — with the
    reported value at the same place inside it as in the real row — is what gets reported.
    Values and cell bounds are then made whole counts, as the data files require (see
    :func:`_as_whole_counts`).
    """
    model, observed = kmodel.model, kmodel.observations
    names = (
        [v.name for v in model.free_RVs]
        + [v.name for v in model.deterministics]
        + [v.name for v in model.observed_RVs]
    )
    truth = dict(zip(names, (np.asarray(d) for d in prior_draw(model, names, seed)), strict=True))
    grid = time_grid(kmodel.config, observed["date"])
    simulated = observed.copy()
    subscribers = (observed["quantity"] == "subscribers").to_numpy()
    blocks = observation_blocks(observed, kmodel.config, grid)
    # an activity statement is a share of the *simulated* subscriber count of its date: fill
    # the subscriber figures first, whatever order the config lists the kinds in
    blocks.sort(key=lambda b: b.kind.startswith("activity_statement"))
    for block in blocks:
        kind = block.kind.removesuffix("_point").removesuffix("_interval")
        rows = np.flatnonzero(
            (observed["kind"] == kind).to_numpy() & observed["date"].isin(block.dates).to_numpy()
        )
        replicate = np.asarray(truth[f"reported_{block.kind}"], dtype=float)
        if kind == "activity_statement":  # shares of the simulated subscriber count
            scale = np.array(
                [
                    simulated["value"]
                    .to_numpy()[
                        subscribers & (observed["date"] == observed["date"].iloc[i]).to_numpy()
                    ]
                    .max()
                    for i in rows
                ]
            )
        else:
            scale = np.full(len(rows), MILLION)
        real_lower, real_upper = block.log_lower, block.log_upper
        if real_lower is not None and real_upper is not None:  # a rounded figure: the real log cell
            width = real_upper - real_lower
            cell = np.floor((replicate - real_lower) / width)
            log_lower = real_lower + cell * width
            log_value = log_lower + (block.log_value - real_lower)
            simulated.loc[rows, "lower"] = np.exp(log_lower) * scale
            simulated.loc[rows, "upper"] = np.exp(log_lower + width) * scale
            simulated.loc[rows, "value"] = np.exp(log_value) * scale
        else:
            simulated.loc[rows, "value"] = np.exp(replicate) * scale
    _as_whole_counts(simulated)
    simulated.attrs["source_file"] = f"<simulated from the prior, seed {seed}>"
    return simulated, truth


def _as_whole_counts(simulated: pd.DataFrame) -> None:
    """Make ``value``, ``lower`` and ``upper`` whole counts >= 1, in place.

    Reported figures are whole numbers of subscribers or numbers; a simulated table must be
    one the data reader accepts (a fit on it can be saved and read back). The value is
    rounded to the nearest count, a cell's lower bound down and its upper bound up, so the
    cell still contains the value; the change is below one count (3e-4 relative at the
    size of the smallest real figure, 1,694 subscribers; far inside the observation noise).
    """
    value = np.maximum(np.round(simulated["value"].to_numpy(float)), 1.0)
    lower = simulated["lower"].to_numpy(float, copy=True)
    upper = simulated["upper"].to_numpy(float, copy=True)
    bounded = ~np.isnan(lower)
    lower[bounded] = np.minimum(np.maximum(np.floor(lower[bounded]), 1.0), value[bounded])
    bounded = ~np.isnan(upper)
    upper[bounded] = np.maximum(np.ceil(upper[bounded]), value[bounded])
    simulated["value"], simulated["lower"], simulated["upper"] = value, lower, upper
