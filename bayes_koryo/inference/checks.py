"""Prior and posterior predictive checks and their thresholds (below).

- ``prior_predictive_table``: prior intervals of the implied subscriptions at every report
  date, of U(May 2013), U/S, the ceilings and penetration, and P(penetration_10plus < 25%).
- ``posterior_predictive_table``: for every reported figure, its replicate's 50% and 90%
  intervals, its (mid-)PIT and whether it lies in the central 50% / 90%, in-sample and
  leave-one-out (PSIS-LOO, with Pareto k per figure); ``loo_failures`` turns the
  leave-one-out column into a check that can fail; ``check_failures`` runs every check of
  ``bayes-koryo check`` on a fitted model (``CHECKS``).
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
"""Prior predictive plausibility: U(May 2013) / population aged 10+ stays below 25%, above the
experts' long-run ceiling (about 5M subscriptions, 20% penetration; Kim 2013, MODEL.md
"Priors") five years after launch, with prior probability above ``PENETRATION_PRIOR_PROB``."""
PENETRATION_PRIOR_PROB = 0.95
"""Required prior probability of ``U(May 2013) / population 10+ < PENETRATION_LIMIT``."""


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


LOO_K_THRESHOLD = 0.7
"""Pareto k above which a PSIS-LOO value is unreliable (Vehtari, Simpson, Gelman, Yao & Gabry
2024, "Pareto smoothed importance sampling", JMLR 25(72)): the figure needs an exact refit."""
LOO_OUTSIDE_ALPHA = 0.01
"""The leave-one-out check fails when this many or more reliable figures fall outside their
90% LOO predictive interval has binomial probability (n, 0.1) below this level."""


def mid_pit(replicate: np.ndarray, low: float, high: float, weights=None) -> float:
    """Return the (mid) probability integral transform of a figure under its replicate draws.

    ``low`` = ``high`` for a point figure: P(replicate <= y). For a rounded figure, whose cell
    is [low, high]: P(replicate < low) + P(low <= replicate <= high) / 2, so the figure sits in
    the middle of its predictive distribution only when the replicate's mass in its cell is
    consistent with it (a cell that merely overlaps an interval's edge gives a PIT near 0 or
    1). ``weights``: normalised importance weights (LOO), default equal.
    """
    w = np.full(replicate.size, 1.0 / replicate.size) if weights is None else weights
    below = float(w[replicate < low].sum())
    inside = float(w[(replicate >= low) & (replicate <= high)].sum())
    return below + inside / 2 if high > low else below + inside


def posterior_predictive_table(kmodel) -> pd.DataFrame:
    """Compare each reported figure with its posterior and leave-one-out predictive replicates.

    Values on the model's scale (counts in millions; the activity statement is the active
    share). In-sample: the replicate's 50% and 90% intervals and the figure's mid-PIT
    (``mid_pit``); ``inside_50`` / ``inside_90``: the PIT lies in the central 50% / 90%, so a
    rounded figure counts as inside only when its cell's predictive mass is consistent with it.
    Leave-one-out (PSIS-LOO, ``arviz_stats.loo`` on the run's ``log_likelihood``):
    ``elpd_loo``, ``pareto_k``, ``loo_pit`` (the same PIT under the LOO importance weights),
    ``loo_inside_90`` and ``loo_reliable`` (k <= ``LOO_K_THRESHOLD``).
    """
    from bayes_koryo.model.graph import observation_blocks

    pp = kmodel.idata["posterior_predictive"].to_dataset()
    grid = pd.DatetimeIndex(kmodel.model.coords["date"])
    rows = []
    for block in observation_blocks(kmodel.observations, kmodel.config, grid):
        name = f"reported_{block.kind}"
        draws = pp[name].values.reshape(-1, pp[name].shape[-1])
        loo = _psis_loo(kmodel.idata, name)
        bounds = _log_cell_bounds(block)
        for j, date in enumerate(block.dates):
            d = draws[:, j]
            low, high = (bounds[0][j], bounds[1][j]) if bounds else (block.log_value[j],) * 2
            pit = mid_pit(d, low, high)
            row = {
                "kind": block.kind,
                "date": date.strftime("%Y-%m-%d"),
                "reported": float(np.exp(block.log_value[j])),
                "cell_low": float(np.exp(low)) if bounds else np.nan,
                "cell_high": float(np.exp(high)) if bounds else np.nan,
                "pp_median": float(np.exp(np.median(d))),
            }
            for mass in (0.5, 0.9):
                lo, hi = interval(np.exp(d), mass, "ETI")
                row |= {f"pp_{mass * 100:.0f}_low": lo, f"pp_{mass * 100:.0f}_high": hi}
            row |= {"pit": pit, "inside_50": abs(pit - 0.5) <= 0.25}
            row["inside_90"] = abs(pit - 0.5) <= 0.45
            if loo is not None:
                k, elpd, weights = loo[0][j], loo[1][j], loo[2][:, j]
                row |= {"elpd_loo": elpd, "pareto_k": k, "loo_pit": mid_pit(d, low, high, weights)}
                row["loo_inside_90"] = abs(row["loo_pit"] - 0.5) <= 0.45
                row["loo_reliable"] = bool(k <= LOO_K_THRESHOLD)
            rows.append(row)
    return pd.DataFrame(rows)


def _psis_loo(idata, name: str):
    """Return (Pareto k, elpd_loo, normalised weights (draws, figures)) of one likelihood term.

    None when the run has no ``log_likelihood`` group. PSIS's warning about large k is left
    to the caller, which reports k per figure.
    """
    import warnings

    from arviz_stats import loo

    if "log_likelihood" not in idata.children or name not in idata["log_likelihood"]:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = loo(idata, pointwise=True, var_name=name)
    log_w = result.log_weights.transpose("chain", "draw", ...).values
    log_w = log_w.reshape(-1, log_w.shape[-1])
    weights = np.exp(log_w - log_w.max(axis=0))
    weights /= weights.sum(axis=0)
    return result.pareto_k.values.ravel(), result.elpd_i.values.ravel(), weights


CHECKS = ("convergence", "posterior predictive", "leave-one-out")
"""The checks of ``bayes-koryo check``, in the order it runs them (``check_failures``)."""


def check_failures(kmodel, table: pd.DataFrame | None = None) -> dict[str, list[str]]:
    """Run every check of ``CHECKS`` on a fitted model; map each to its failures (empty: passed).

    convergence: the run's diagnostics gate (R-hat, ESS, divergences, E-BFMI); posterior
    predictive: ``in_sample_failures``; leave-one-out: ``loo_failures``. ``table``: the
    model's ``posterior_predictive_table`` if already computed; otherwise the posterior
    predictive replicates are drawn (seeded by the run) when the run has none.
    """
    if kmodel.idata is None or kmodel.diagnostics is None:
        raise RuntimeError(f"{kmodel.config.name}: the model has no draws to check")
    if table is None:
        if "posterior_predictive" not in kmodel.idata.children:
            kmodel.sample_posterior_predictive()
        table = posterior_predictive_table(kmodel)
    return {
        "convergence": list(kmodel.diagnostics.messages),
        "posterior predictive": in_sample_failures(table),
        "leave-one-out": loo_failures(table),
    }


def in_sample_failures(table: pd.DataFrame) -> list[str]:
    """Return one failure per figure outside the central 90% of its posterior predictive."""
    return [
        f"{row.kind} {row.date}: reported {row.reported:.4g} outside its 90% posterior "
        f"predictive interval [{row.pp_90_low:.4g}, {row.pp_90_high:.4g}]"
        for row in table[~table["inside_90"].astype(bool)].itertuples()
    ]


def loo_failures(table: pd.DataFrame) -> list[str]:
    """Return the leave-one-out check's failures (empty: passed).

    The check fails when the number of reliable figures (k <= ``LOO_K_THRESHOLD``) outside
    their 90% LOO predictive interval is improbably large for a calibrated model
    (``outside_90_failures``).
    """
    if "loo_reliable" not in table:
        return []
    reliable = table[table["loo_reliable"]]
    return outside_90_failures(reliable, reliable["loo_inside_90"].astype(bool))


def outside_90_failures(figures: pd.DataFrame, inside: pd.Series) -> list[str]:
    """Return the failure of a 90%-interval check over ``figures`` (empty: passed).

    ``inside``: per figure (kind, date), whether it lies in its 90% interval. The check fails
    when as many figures or more lie outside as a calibrated model gives with binomial
    (n, 0.1) probability below ``LOO_OUTSIDE_ALPHA``.
    """
    from scipy.stats import binom

    outside = int((~inside).sum())
    tail = float(binom.sf(outside - 1, len(figures), 0.1)) if outside else 1.0
    if tail >= LOO_OUTSIDE_ALPHA:
        return []
    names = ", ".join(f"{r.kind} {r.date}" for r in figures[~inside].itertuples())
    return [
        f"{outside} of {len(figures)} figures outside their 90% leave-one-out predictive "
        f"interval (binomial tail {tail:.2g} < {LOO_OUTSIDE_ALPHA}): {names}"
    ]


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
