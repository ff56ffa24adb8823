"""The Bayesian-workflow figures a PyMC user expects, drawn by ArviZ (``arviz_plots``).

- :func:`rank` - fractional-rank Δ-ECDF per chain of every free scalar parameter and headline
  quantity, with ArviZ's multi-chain uniformity p-value (a chain whose ranks leave the band
  did not sample what the others sampled);
- :func:`energy` - marginal and transition energy and E-BFMI per chain (threshold 0.3);
- :func:`prior_vs_posterior` - prior and posterior densities of the free parameters;
- :func:`power_scaling` - how the headline quantities move when the prior or the likelihood
  is power-scaled (0.8, 1.25; ``arviz_stats.psense``).

They sit beside the model's own figures (``bayes_koryo.outputs.plots``: trajectory,
decomposition, ...). :func:`write_arviz_figures` saves them atomically as PNG and PDF.
Simulation-based calibration has its own ArviZ figure (``plot_ecdf_pit``, written by
``bayes-koryo sbc``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import arviz_plots as azp
import xarray as xr
from matplotlib.figure import Figure

from bayes_koryo.model.graph import free_parameters
from bayes_koryo.outputs.plots import FORMATS, WIDTH_FULL, save_figures
from bayes_koryo.outputs.report import prior_dataset
from bayes_koryo.study import HEADLINE_DATES, HEADLINE_SCALARS

ARVIZ_FIGURES = ("rank", "energy", "prior_vs_posterior", "power_scaling")
"""Names of the ArviZ figures, as written by :func:`write_arviz_figures`."""

PANEL_HEIGHT = 1.7
"""Inches per row of panels."""
COLUMNS = 4
"""Panels per row."""


def _fitted_tree(model):
    if model.idata is None:
        raise ValueError("the model has no posterior: fit it or load a run first")
    return model.idata


def _size(panels: int, columns: int = COLUMNS) -> dict[str, Any]:
    rows = -(-panels // columns)
    return {"figsize": (WIDTH_FULL * 1.4, PANEL_HEIGHT * rows + 0.6), "layout": "constrained"}


def _scalar_quantities(model) -> list[str]:
    post = model.idata["posterior"]
    names = [n for n in free_parameters(model.config) if n in post]
    return names + [n for n in HEADLINE_SCALARS if n in post and n not in names]


def _faceted(plot: Callable[..., Any], tree, names: list[str]) -> Figure:
    """Draw ArviZ's ``plot`` of ``names``, one panel each, ``COLUMNS`` panels a row."""
    pc = plot(
        tree,
        var_names=names,
        backend="matplotlib",
        col_wrap=COLUMNS,
        figure_kwargs=_size(len(names)),
    )
    return pc.get_viz("figure")


def rank(model) -> Figure:
    """Return the rank plot of every free scalar parameter and headline scalar."""
    return _faceted(azp.plot_rank, _fitted_tree(model), _scalar_quantities(model))


def energy(model) -> Figure:
    """Return ArviZ's energy plot with the E-BFMI of each chain (threshold 0.3)."""
    pc = azp.plot_energy(
        _fitted_tree(model),
        backend="matplotlib",
        figure_kwargs={"figsize": (WIDTH_FULL, 2.4), "layout": "constrained"},
    )
    return pc.get_viz("figure")


def prior_vs_posterior(model) -> Figure:
    """Return prior and posterior densities of every free scalar parameter.

    A run without prior draws gets them sampled first (seed recorded as ``prior_seed``).
    """
    prior_dataset(model)
    tree = _fitted_tree(model)
    names = [n for n in free_parameters(model.config) if n in tree["prior"]]
    return _faceted(azp.plot_prior_posterior, tree, names)


def power_scaling(model) -> Figure:
    """Return the power-scaling plot of the headline quantities (prior and likelihood).

    Each quantity's posterior under the prior (left) or the likelihood (right) raised to the
    powers 0.8 and 1.25; a density that moves with the prior's power rests on the prior.
    """
    tree = _fitted_tree(model)
    post = tree["posterior"]
    headline = {f"U({d})": post["unique_users"].sel(date=d, drop=True) for d in HEADLINE_DATES}
    headline |= {name: post[name] for name in HEADLINE_SCALARS}
    scaled = xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset(headline),
            "log_prior": tree["log_prior"].to_dataset(),
            "log_likelihood": tree["log_likelihood"].to_dataset(),
        }
    )
    pc = azp.plot_psense_dist(
        scaled,
        backend="matplotlib",
        figure_kwargs={
            "figsize": (WIDTH_FULL * 1.2, 1.6 * len(headline) + 0.8),
            "layout": "constrained",
        },
    )
    return pc.get_viz("figure")


def write_arviz_figures(model, out_dir, prefix: str = "", formats=FORMATS) -> list[Path]:
    """Write the ArviZ figures as ``{prefix}{name}.{png,pdf}`` to ``out_dir``; return paths."""
    makers: dict[str, Callable[[Any], Figure]] = {
        "rank": rank,
        "energy": energy,
        "prior_vs_posterior": prior_vs_posterior,
        "power_scaling": power_scaling,
    }
    return save_figures(makers, model, out_dir, prefix, formats)
