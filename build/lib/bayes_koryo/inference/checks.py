"""Prior and posterior predictive checks and their thresholds (below).

- ``prior_predictive_table``: prior intervals of the implied subscriptions at every report
  date, of U(May 2013), U/S, the ceilings and penetration, and P(penetration_10plus < 25%).
- ``posterior_predictive_table``: for every reported figure, its replicate's 50% and 90%
  intervals and whether the figure (or, for rounded figures, its cell) lies inside.
- ``plot_prior_predictive``: the prior predictive path of S(t) against the reported points.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from bayes_koryo.inference.summaries import interval
from bayes_koryo.study import CI_PROB, TWO_MILLION_DATE

if TYPE_CHECKING:
    from bayes_koryo.model.graph import ObservationBlock

PENETRATION_LIMIT = 0.25
"""Brief: U(May 2013) / population aged 10+ < 25% with prior probability > 0.95."""
PENETRATION_PRIOR_PROB = 0.95


def prior_predictive_table(
    prior: xr.Dataset, observations: pd.DataFrame, prob: float = CI_PROB
) -> pd.DataFrame:
    """One row per checked quantity: prior median and ``prob`` ETI, and the reported value."""
    rows = []
    subs = observations[observations["quantity"] == "subscribers"]
    for rec in subs.itertuples():
        draws = prior["subscriptions"].sel(date=rec.date).values.ravel()
        lo, hi = interval(draws, prob, "ETI")
        rows.append(
            {
                "quantity": "subscriptions",
                "date": rec.date.strftime("%Y-%m-%d"),
                "median": float(np.median(draws)),
                "ci_low": lo,
                "ci_high": hi,
                "reported": rec.value / 1e6,
                "inside": bool(lo <= rec.value / 1e6 <= hi),
            }
        )
    may = TWO_MILLION_DATE
    for name, da in (
        ("unique_users", prior["unique_users"].sel(date=may)),
        ("real_user_share", prior["real_user_share"]),
        ("user_ceiling", prior["user_ceiling"]),
        ("subscription_ceiling", prior["subscription_ceiling"]),
        ("penetration_10plus", prior["penetration_10plus"].sel(date=may)),
    ):
        draws = da.values.ravel()
        lo, hi = interval(draws, prob, "ETI")
        rows.append(
            {
                "quantity": name,
                "date": may if "date" in da.coords else None,
                "median": float(np.median(draws)),
                "ci_low": lo,
                "ci_high": hi,
                "reported": np.nan,
                "inside": None,
            }
        )
    table = pd.DataFrame(rows)
    table["ci_prob"], table["ci_kind"] = prob, "ETI"
    return table


def penetration_prior_probability(prior: xr.Dataset) -> float:
    """Prior P(U(May 2013) / population aged 10+ < PENETRATION_LIMIT)."""
    pen = prior["penetration_10plus"].sel(date=TWO_MILLION_DATE).values.ravel()
    return float(np.mean(pen < PENETRATION_LIMIT))


def posterior_predictive_table(kmodel) -> pd.DataFrame:
    """Compare each reported figure with its posterior replicate.

    Counts are in millions, the activity statement is the active share. Rounded figures
    count as inside an interval when their rounding cell overlaps it.
    """
    from bayes_koryo.model.graph import observation_blocks

    pp = kmodel.idata["posterior_predictive"].to_dataset()
    grid = pd.DatetimeIndex(kmodel.model.coords["date"])
    rows = []
    for block in observation_blocks(kmodel.observations, kmodel.config, grid):
        draws = np.exp(pp[f"reported_{block.kind}"].values)
        draws = draws.reshape(-1, draws.shape[-1])
        bounds = _log_cell_bounds(block)
        for j, date in enumerate(block.dates):
            d = draws[:, j]
            lo50, hi50 = interval(d, 0.5, "ETI")
            lo90, hi90 = interval(d, 0.9, "ETI")
            value = float(np.exp(block.log_value[j]))
            if bounds is not None:
                cell = (float(np.exp(bounds[0][j])), float(np.exp(bounds[1][j])))
                in50 = cell[0] <= hi50 and cell[1] >= lo50
                in90 = cell[0] <= hi90 and cell[1] >= lo90
            else:
                cell = (np.nan, np.nan)
                in50, in90 = lo50 <= value <= hi50, lo90 <= value <= hi90
            rows.append(
                {
                    "kind": block.kind,
                    "date": date.strftime("%Y-%m-%d"),
                    "reported": value,
                    "cell_low": cell[0],
                    "cell_high": cell[1],
                    "pp_median": float(np.median(d)),
                    "pp_50_low": lo50,
                    "pp_50_high": hi50,
                    "pp_90_low": lo90,
                    "pp_90_high": hi90,
                    "inside_50": bool(in50),
                    "inside_90": bool(in90),
                }
            )
    return pd.DataFrame(rows)


def _log_cell_bounds(block: ObservationBlock) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the (log lower, log upper) rounding-cell bounds of an interval block, else None."""
    if not block.is_interval:
        return None
    if block.log_lower is None or block.log_upper is None:
        raise ValueError(f"observation block {block.kind!r}: interval likelihood without bounds")
    return block.log_lower, block.log_upper


def plot_prior_predictive(prior: xr.Dataset, observations: pd.DataFrame, path=None):
    """Plot the prior predictive S(t) (median, 50% and 90% ETI) with the reported points.

    S(t) is in millions of registered SIMs (log scale). Returns (figure, tidy data); with
    ``path``, the figure is also written there (atomically, format from the suffix).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = prior["subscriptions"]
    flat = s.stack(sample=("chain", "draw")).values
    q = np.quantile(flat, [0.05, 0.25, 0.5, 0.75, 0.95], axis=-1)
    dates = pd.DatetimeIndex(s["date"].values)
    tidy = pd.DataFrame(
        {"date": dates, "q05": q[0], "q25": q[1], "median": q[2], "q75": q[3], "q95": q[4]}
    )
    fig, ax = plt.subplots(figsize=(7, 4), dpi=150)
    ax.fill_between(dates, q[0], q[4], alpha=0.2, color="C0", label="prior 90% ETI")
    ax.fill_between(dates, q[1], q[3], alpha=0.35, color="C0", label="prior 50% ETI")
    ax.plot(dates, q[2], color="C0", lw=1, label="prior median")
    subs = observations[observations["quantity"] == "subscribers"]
    ax.scatter(
        subs["date"], subs["value"] / 1e6, color="k", s=12, zorder=3, label="reported subscribers"
    )
    ax.set_yscale("log")
    ax.set_ylabel("registered SIMs S(t), millions (log scale)")
    ax.set_title("Prior predictive check: subscriptions implied by the priors")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    if path is not None:  # atomic, like every other output
        from pathlib import Path

        from bayes_koryo.atomic import atomic_path

        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=Path(path).suffix.lstrip("."))
    return fig, tidy
