"""Power-scaling sensitivity of a fitted run: which priors a reported number rests on.

``arviz_stats.psense`` (Kallioinen, Paananen, Bürkner & Vehtari 2024, "Detecting and
diagnosing prior and likelihood sensitivity with power-scaling", Stat Comput 34:57): the
cumulative Jensen-Shannon distance between the posterior and the posterior with the prior (or
the likelihood) raised to a power alpha = 0.99 / 1.01, per unit of log(alpha),
importance-weighted with Pareto smoothing (no refit). Only the top-level priors are scaled: the
``log_prior`` terms of the run (the N(0, 1) innovations of the non-centred pace deviations are
model structure; Kallioinen et al. 2024, sec. 5, scale "the priors of interest").

Rule for every reported quantity (threshold ``PSENSE_THRESHOLD`` = 0.05, the authors'):

* prior sensitivity >= 0.05 and likelihood sensitivity < 0.05 -> **prior-driven**: the width
  and place of its interval come from the priors; the data barely move it;
* both >= 0.05 -> **prior-data conflict**: prior and data pull it apart;
* prior sensitivity < 0.05 -> **data-driven**.

``prior_group_sensitivity`` also scales each group of ``model.priors.PRIOR_GROUPS`` alone and
names the most influential group; both ``bayes_koryo.outputs.report`` and
``bayes_koryo.validation.sensitivity`` use it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_koryo.study import (
    DECOMPOSITION_PARTS,
    HEADLINE_DATES,
    HEADLINE_SCALARS,
    TWO_MILLION_DATE,
)

PSENSE_THRESHOLD = 0.05
"""Power-scaling sensitivity above which prior / likelihood count as influential
(Kallioinen et al. 2024)."""

HEADLINE = (
    *(("unique_users", date) for date in HEADLINE_DATES),
    *((name, None) for name in HEADLINE_SCALARS),
    ("penetration_10plus", TWO_MILLION_DATE),
    *((f"decomposition_{part}", None) for part in DECOMPOSITION_PARTS),
)
"""(variable, date) of the headline quantities checked besides the free parameters."""

GROUP_PHRASES = {
    "demography": "those of the population (total, children under 10, soldiers)",
    "ceiling": "that of the user ceiling",
    "diffusion": "those of the growth curve and its pace",
    "coverage": "those of network coverage",
    "heavy_users": "those of the heavy users (their share π and SIMs each m)",
    "official_share": "that of the official share ω",
    "inactive_share": "that of the inactive share ι",  # noqa: RUF001 (the model's symbol)
    "activity": "that of the depressed activity of the 800k statement",
    "sharing": "that of the people sharing a holder's phone",
}
"""How the generated text names each group of ``model.priors.PRIOR_GROUPS``."""

EVIDENCE_LABELS = ("data-driven", "prior-driven", "prior-data conflict")
"""What ``evidence`` calls a quantity, from its power-scaling sensitivities."""


def label(variable: str, date: str | None) -> str:
    """Return the name of a quantity's draws: ``variable`` or ``variable[YYYY-MM-DD]``."""
    return f"{variable}[{date}]" if date else variable


def quantity_draws(ds: xr.Dataset, config) -> xr.Dataset:
    """Return the checked quantities of a posterior or prior Dataset.

    Each is a scalar (chain, draw) variable named ``name`` or ``name[YYYY-MM-DD]``. Headline
    quantities the model lacks (e.g. the decomposition when the grid misses 28 May 2013) are
    left out.
    """
    from bayes_koryo.model.graph import free_parameters

    out = {}
    for name in free_parameters(config):
        out[name] = ds[name]
    for variable, date in HEADLINE:
        if variable not in ds:
            continue
        da = ds[variable]
        if date is not None:
            if np.datetime64(date) not in da["date"].values:
                continue
            da = da.sel(date=date).drop_vars("date")
        out[label(variable, date)] = da
    return xr.Dataset(out)


# --------------------------------------------------------------------------- power-scaling


def evidence(prior: float, likelihood: float, threshold: float = PSENSE_THRESHOLD) -> str:
    """Return whether a quantity is data-driven, prior-driven or in prior-data conflict.

    ``prior`` and ``likelihood`` are its power-scaling sensitivities; rule in the module
    docstring. NaN sensitivities give "not measured".
    """
    if not (np.isfinite(prior) and np.isfinite(likelihood)):
        return "not measured"
    if prior < threshold:
        return "data-driven"
    return "prior-data conflict" if likelihood >= threshold else "prior-driven"


def diagnose_psense(prior: float, likelihood: float, threshold: float = PSENSE_THRESHOLD) -> str:
    """Kallioinen et al. (2024) diagnosis of one quantity's power-scaling sensitivities."""
    if prior >= threshold and likelihood >= threshold:
        return "prior-data conflict"
    if prior >= threshold:
        return "strong prior / weak likelihood"
    return "-"


def psense_frame(tree: xr.DataTree, threshold: float = PSENSE_THRESHOLD) -> pd.DataFrame:
    """Compute ``arviz_stats.psense`` of every posterior variable of ``tree``.

    ``tree`` needs ``log_prior`` and ``log_likelihood`` groups; both prior and likelihood are
    power-scaled, and each quantity gets the diagnosis of ``diagnose_psense``. Columns:
    quantity, prior_sensitivity, likelihood_sensitivity (CJS distance per unit log-alpha,
    alpha = 0.99 / 1.01), diagnosis.
    """
    from arviz_stats import psense

    prior = psense(tree, group="prior")
    likelihood = psense(tree, group="likelihood")
    rows = []
    for name in tree["posterior"].data_vars:
        p, lik = float(prior[name]), float(likelihood[name])
        rows.append(
            {
                "quantity": name,
                "prior_sensitivity": p,
                "likelihood_sensitivity": lik,
                "diagnosis": diagnose_psense(p, lik, threshold),
            }
        )
    return pd.DataFrame(rows)


def psense_table(model, threshold: float = PSENSE_THRESHOLD) -> pd.DataFrame:
    """Compute the power-scaling sensitivity of every checked quantity of a fitted KoryoModel.

    The run must carry ``log_prior`` and ``log_likelihood``; only the free scalar parameters'
    priors are scaled (module docstring). Columns as ``psense_frame``.
    """
    from bayes_koryo.model.graph import free_parameters

    idata = _with_log_densities(model, "psense_table")
    tree = xr.DataTree.from_dict(
        {
            "posterior": quantity_draws(idata["posterior"].to_dataset(), model.config),
            "log_prior": idata["log_prior"].to_dataset()[list(free_parameters(model.config))],
            "log_likelihood": idata["log_likelihood"].to_dataset(),
        }
    )
    return psense_frame(tree, threshold)


def has_log_densities(idata) -> bool:
    """Return whether a run's DataTree has the ``log_prior`` and ``log_likelihood`` groups."""
    return idata is not None and {"log_prior", "log_likelihood"} <= set(idata.children)


def _with_log_densities(model, caller: str) -> xr.DataTree:
    """Return the run's DataTree; ConfigError unless it has log_prior and log_likelihood."""
    from bayes_koryo.errors import ConfigError

    if not has_log_densities(model.idata):
        raise ConfigError(
            f"{caller}: the run needs log_prior and log_likelihood groups "
            "(fit it with KoryoModel.fit)"
        )
    return model.idata


def headline_draws(model) -> xr.Dataset:
    """Return the draws of the ``HEADLINE`` quantities the run has, named by ``label``."""
    posterior = quantity_draws(model.idata["posterior"].to_dataset(), model.config)
    return posterior[[label(v, d) for v, d in HEADLINE if label(v, d) in posterior]]


def prior_group_sensitivity(
    model, quantities: xr.Dataset | None = None, threshold: float = PSENSE_THRESHOLD
) -> pd.DataFrame:
    """Return the power-scaling sensitivity of each quantity to each group of priors.

    ``quantities``: scalar (chain, draw) draws of the run's posterior, one variable per
    quantity (default ``headline_draws(model)``). Every group of
    ``model.priors.PRIOR_GROUPS`` is power-scaled alone (``arviz_stats.psense`` with
    ``group_var_names``), beside all priors together and the likelihood. Columns:
    ``quantity``; ``likelihood_sensitivity``; ``prior_sensitivity`` (all priors);
    ``prior_<group>`` per group; ``most_influential_prior`` (the group with the largest
    sensitivity); ``max_pareto_k`` (largest Pareto k of the importance weights behind the
    scaled priors, alpha 0.99 and 1.01; above 0.7 the values are unreliable); ``evidence``
    (``evidence`` at ``threshold``); ``diagnosis`` (``diagnose_psense``).
    """
    from arviz_stats import psense

    from bayes_koryo.model.priors import prior_groups

    idata = _with_log_densities(model, "prior_group_sensitivity")
    log_prior = idata["log_prior"].to_dataset()
    posterior = headline_draws(model) if quantities is None else quantities
    headline = list(posterior.data_vars)
    tree = xr.DataTree.from_dict(
        {
            "posterior": posterior,
            "log_prior": log_prior,
            "log_likelihood": idata["log_likelihood"].to_dataset(),
        }
    )
    groups = prior_groups(log_prior.data_vars)
    likelihood = psense(tree, group="likelihood")
    everything = psense(tree, group="prior")
    by_group = {
        g: psense(tree, group="prior", group_var_names=names) for g, names in groups.items()
    }
    khat = max(_power_scaling_khat(log_prior, names) for names in groups.values())
    rows = []
    for name in headline:
        row: dict[str, Any] = {
            "quantity": name,
            "likelihood_sensitivity": float(likelihood[name]),
            "prior_sensitivity": float(everything[name]),
        }
        row |= {f"prior_{g}": float(values[name]) for g, values in by_group.items()}
        row["most_influential_prior"] = max(groups, key=lambda g: row[f"prior_{g}"])
        row["max_pareto_k"] = khat
        row["evidence"] = evidence(
            row["prior_sensitivity"], row["likelihood_sensitivity"], threshold
        )
        row["diagnosis"] = diagnose_psense(
            row["prior_sensitivity"], row["likelihood_sensitivity"], threshold
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _power_scaling_khat(log_prior: xr.Dataset, names: list[str]) -> float:
    """Return the largest Pareto k of the weights p(group)^(alpha - 1), alpha 0.99 and 1.01."""
    parts = [
        log_prior[n].sum([d for d in log_prior[n].dims if d not in ("chain", "draw")])
        for n in names
    ]
    total = xr.concat(parts, dim="prior").sum("prior")
    return max(
        float(((alpha - 1.0) * total).azstats.pareto_khat(sample_dims=["chain", "draw"]))
        for alpha in (0.99, 1.01)
    )


__all__ = [
    "EVIDENCE_LABELS",
    "GROUP_PHRASES",
    "HEADLINE",
    "PSENSE_THRESHOLD",
    "diagnose_psense",
    "evidence",
    "has_log_densities",
    "headline_draws",
    "label",
    "prior_group_sensitivity",
    "psense_frame",
    "psense_table",
    "quantity_draws",
]
