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

    Interval kinds keep the real cell's position relative to the value: a simulated
    milestone of 1.37M gets the cell [1.37M, 1.37M * 1.05] like the real [1M, 1.05M].
    """
    model, observed = kmodel.model, kmodel.observations
    names = [v.name for v in model.free_RVs] + [v.name for v in model.deterministics] + \
        [v.name for v in model.observed_RVs]
    with model:
        draw = pm.draw([model[n] for n in names], random_seed=seed)
    truth = dict(zip(names, (np.asarray(d) for d in draw), strict=True))
    grid = time_grid(kmodel.config, observed["date"])
    simulated = observed.copy()
    for block in observation_blocks(observed, kmodel.config, grid):
        kind = block.kind.removesuffix("_point").removesuffix("_interval")
        rows = np.flatnonzero((observed["kind"] == kind).to_numpy()
                              & observed["date"].isin(block.dates).to_numpy())
        replicate = truth[f"reported_{block.kind}"]
        if kind == "activity_statement":
            subscribers = observed["quantity"] == "subscribers"
            sim_subs = []
            for i in rows:
                same = np.flatnonzero((observed["date"] == observed["date"].iloc[i]).to_numpy()
                                      & subscribers.to_numpy())
                sim_subs.append(simulated["value"].iloc[same].max())
            scale = np.asarray(sim_subs, float)
        else:
            scale = np.full(len(rows), MILLION)
        values = np.round(np.exp(replicate) * scale)
        ratio_lo = observed["lower"].to_numpy(float)[rows] / observed["value"].to_numpy(float)[rows]
        ratio_hi = observed["upper"].to_numpy(float)[rows] / observed["value"].to_numpy(float)[rows]
        simulated.loc[rows, "value"] = values
        simulated.loc[rows, "lower"] = np.round(values * ratio_lo)
        simulated.loc[rows, "upper"] = np.round(values * ratio_hi)
    simulated.attrs["source_file"] = f"<simulated from the prior, seed {seed}>"
    return simulated, truth
