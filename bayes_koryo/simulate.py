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

from bayes_koryo.model import MILLION, observation_blocks, time_grid


def simulate_observations(kmodel, seed: int) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """(simulated observations, true values of every free and derived variable).

    Exactly the observation model of ``build_model``: an audited count is the replicate
    itself; for a rounded figure the replicate falls in one cell of a partition of the log
    scale into cells as wide as the real one (aligned with it), and that cell — with the
    reported value at the same place inside it as in the real row — is what gets reported.
    """
    model, observed = kmodel.model, kmodel.observations
    names = [v.name for v in model.free_RVs] + [v.name for v in model.deterministics] + \
        [v.name for v in model.observed_RVs]
    with model:
        draw = pm.draw([model[n] for n in names], random_seed=seed)
    truth = dict(zip(names, (np.asarray(d) for d in draw), strict=True))
    grid = time_grid(kmodel.config, observed["date"])
    simulated = observed.copy()
    subscribers = (observed["quantity"] == "subscribers").to_numpy()
    for block in observation_blocks(observed, kmodel.config, grid):
        kind = block.kind.removesuffix("_point").removesuffix("_interval")
        rows = np.flatnonzero((observed["kind"] == kind).to_numpy()
                              & observed["date"].isin(block.dates).to_numpy())
        replicate = np.asarray(truth[f"reported_{block.kind}"], dtype=float)
        if kind == "activity_statement":  # shares of the simulated subscriber count
            scale = np.array([simulated["value"].to_numpy()[
                subscribers & (observed["date"] == observed["date"].iloc[i]).to_numpy()].max()
                for i in rows])
        else:
            scale = np.full(len(rows), MILLION)
        if block.is_interval:
            width = block.log_upper - block.log_lower
            cell = np.floor((replicate - block.log_lower) / width)
            log_lower = block.log_lower + cell * width
            log_value = log_lower + (block.log_value - block.log_lower)
            simulated.loc[rows, "lower"] = np.exp(log_lower) * scale
            simulated.loc[rows, "upper"] = np.exp(log_lower + width) * scale
            simulated.loc[rows, "value"] = np.exp(log_value) * scale
        else:
            simulated.loc[rows, "value"] = np.exp(replicate) * scale
    simulated.attrs["source_file"] = f"<simulated from the prior, seed {seed}>"
    return simulated, truth
