"""Leave-future-out checks: refit on the figures up to a cut-off, score the later ones.

For each model config and cut-off date the model is refitted on the observations dated on or
before the cut-off (a new observation layout, hence one compile per (cut-off, structure)),
and every later reported *subscriber* figure of the config's kinds is predicted from that
fit: the posterior draws of registered SIMs S(t) at the figure's date
(``KoryoModel.forecast``: U(t) times SIMs per user, the diffusion clock interpolated linearly
between monthly grid points) go through the model's own observation model for the figure's
kind (``config.log_sd``):

* audited counts: ``log y ~ Normal(log S, sd)`` -> log density of log y (per log unit);
* rounded figures, statements, milestones: ``P(log lower < log S + eps < log upper)``,
  ``eps ~ N(0, sd)``, with ``bayes_koryo.model.graph.interval_logp`` -> log probability.

``elpd`` of a figure is ``log mean_s p(y | theta_s)`` over the posterior draws (an exact
M-step-ahead predictive density; Bürkner, Gabry & Vehtari 2020, J. Stat. Comput. Simul.
90:2499, without the PSIS approximation: every cut-off is refitted). The 800k
activity statement is not scored (it is a share, not a subscriber count).
Coverage: whether the figure's mid-PIT under its replicate ``log S + eps`` (seeded draws;
``bayes_koryo.inference.checks.mid_pit``: for a rounded figure, the replicate's mass below its
cell plus half the mass in it) lies in the central 50% / 90%.

``run_lfo(paths, cutoffs)`` returns (scores: one row per model, cut-off and figure;
summary: per model over all cut-offs and per cut-off: sum of elpd with its SE
``sqrt(n var(elpd_i))``, the difference to the best model with the SE of the paired
differences, coverage); ``horizon_calibration`` gives each model's coverage by forecast
horizon; ``write_lfo`` writes the three as CSV/JSON/MD.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_CUTOFFS = ("2010-06-30", "2010-12-31", "2011-06-30", "2011-09-30", "2012-02-29")
"""Mid-2010 (the earliest with the first coverage report; its forecasts reach 2.9 years),
end-2010, mid-2011, Sep-2011 and Feb-2012 (after the 1M milestone)."""
COVERAGE_PROBS = (0.5, 0.9)

HORIZON_BANDS_YEARS = (0.0, 1.0, 2.0, 3.0)
"""Edges of the forecast-horizon bands (years from the cut-off to the figure's date) of
``horizon_calibration``: up to 1 year, 1-2 years, 2-3 years."""


def split_observations(
    observations: pd.DataFrame, cutoff, kinds
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(figures dated on or before ``cutoff``; later subscriber figures of ``kinds``)."""
    cut = pd.Timestamp(cutoff)
    train = observations[observations["date"] <= cut].copy()
    test = observations[
        (observations["date"] > cut)
        & (observations["quantity"] == "subscribers")
        & observations["kind"].isin(list(kinds))
    ].copy()
    train.attrs.update(observations.attrs)
    return train, test


def lfo_task(config_path, cutoff: str, settings=None) -> dict:
    """Build the sweep task (plain data) for one model TOML and cut-off."""
    from bayes_koryo.model.config import load_config
    from bayes_koryo.validation.sensitivity import VariantSettings

    settings = settings or VariantSettings()
    config = load_config(config_path)
    seed = config.sampler.seed if settings.seed is None else int(settings.seed)
    from bayes_koryo.data import load_observations
    from bayes_koryo.inference.fit import structure_key

    train, _ = split_observations(load_observations(), cutoff, config.kinds)
    structure = structure_key(config, train)
    return {
        "config": config.to_dict(),
        "path": str(config_path),
        "cutoff": cutoff,
        "seed": seed,
        "draws": settings.draws or config.sampler.draws,
        "tune": settings.tune or config.sampler.tune,
        "chains": settings.chains or config.sampler.chains,
        "structure": structure,
    }


def _interval_logp(mu, lower, upper, sd) -> np.ndarray:
    """Evaluate the model's interval likelihood (``model.interval_logp``) at numpy values.

    ``mu`` and the bounds are on the log scale (log millions); returns log probabilities.
    """
    import pytensor.tensor as pt

    from bayes_koryo.model.graph import interval_logp

    mu = pt.as_tensor_variable(np.asarray(mu, float))
    return np.asarray(interval_logp(0.0, mu, float(lower), float(upper), float(sd)).eval())


def score_figures(kmodel, test: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Score each row of ``test`` against the fitted ``kmodel`` (module docstring)."""
    from scipy.special import logsumexp
    from scipy.stats import norm

    from bayes_koryo.inference.checks import mid_pit

    if test.empty:
        return pd.DataFrame()
    dates = pd.DatetimeIndex(sorted(set(test["date"])))
    fc = kmodel.forecast(dates, seed=seed)
    post = kmodel.idata["posterior"].to_dataset()
    log_s = np.log(fc["unique_users"] * post["sims_per_user"])  # (chain, draw, date)
    rng = np.random.default_rng(seed)
    rows = []
    for _, row in test.iterrows():
        kind = row["kind"]
        sd = kmodel.config.log_sd[kind]
        mu = log_s.sel(forecast_date=row["date"]).values.ravel()
        log_y = math.log(row["value"] / 1e6)
        has_cell = not (pd.isna(row["lower"]) or pd.isna(row["upper"]))
        if has_cell:
            lo, hi = math.log(row["lower"] / 1e6), math.log(row["upper"] / 1e6)
            lpd = _interval_logp(mu, lo, hi, sd)
        else:
            lo = hi = log_y
            lpd = norm.logpdf(log_y, mu, sd)
        replicate = mu + rng.normal(0.0, sd, size=mu.size)
        out = {
            "kind": kind,
            "date": row["date"].strftime("%Y-%m-%d"),
            "reported": row["value"] / 1e6,
            "elpd": float(logsumexp(lpd) - math.log(lpd.size)),
            "pp_median": float(np.exp(np.median(replicate))),
        }
        out["pit"] = mid_pit(replicate, lo, hi)
        for prob in COVERAGE_PROBS:
            q_lo, q_hi = np.quantile(replicate, [(1 - prob) / 2, (1 + prob) / 2])
            out[f"inside_{prob * 100:.0f}"] = bool(abs(out["pit"] - 0.5) <= prob / 2)
            out[f"pp_{prob * 100:.0f}_low"] = float(np.exp(q_lo))
            out[f"pp_{prob * 100:.0f}_high"] = float(np.exp(q_hi))
        rows.append(out)
    return pd.DataFrame(rows)


def fit_lfo(task: dict) -> list[dict]:
    """Refit one model on the figures up to one cut-off and score the later ones.

    A refit that misses the convergence gate is retried once
    (``sweeps.fit_with_retry``); one that still misses it is marked converged = False.
    """
    from bayes_koryo.data import load_observations
    from bayes_koryo.model.config import config_from_dict
    from bayes_koryo.validation.sweeps import fit_with_retry

    config = config_from_dict(task["config"], source=task["path"])
    train, test = split_observations(load_observations(), task["cutoff"], config.kinds)
    model, first = fit_with_retry(task["config"], task["path"], task, train)
    scores = score_figures(model, test, task["seed"])
    summary = model.diagnostics.summary()
    scores["attempts"] = 1 if first["converged"] else 2
    scores["first_attempt"] = "passed" if first["converged"] else "; ".join(first["failures"][:3])
    scores.insert(0, "model", config.name)
    scores.insert(1, "growth_form", config.growth_form)
    scores.insert(2, "cutoff", task["cutoff"])
    scores["n_train"] = len(train)
    scores["converged"] = bool(summary["converged"])
    scores["divergences"] = summary["divergences"]
    scores["max_r_hat"] = summary["max_r_hat"]
    scores["seed"] = task["seed"]
    scores["draws"], scores["chains"] = task["draws"], task["chains"]
    return scores.to_dict("records")


def _elpd_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Summarise ``scores`` per model: elpd, its difference to the best model, coverage."""
    rows = []
    for model, g in scores.groupby("model", sort=False):
        n = len(g)
        rows.append(
            {
                "model": model,
                "growth_form": g["growth_form"].iloc[0],
                "figures": n,
                "elpd": float(g["elpd"].sum()),
                "elpd_se": _sum_se(g["elpd"]),
                "coverage_50": float(g["inside_50"].mean()),
                "coverage_90": float(g["inside_90"].mean()),
                "fits": int(g["cutoff"].nunique()),
            }
        )
    out = pd.DataFrame(rows)
    best = out.loc[out["elpd"].idxmax(), "model"]
    keys = ["cutoff", "date", "kind"]
    ref = scores[scores["model"] == best].set_index(keys)["elpd"]
    diffs, ses, block_ses, worse = [], [], [], []
    for model in out["model"]:
        d = scores[scores["model"] == model].set_index(keys)["elpd"] - ref
        d = d.dropna()
        diffs.append(float(d.sum()))
        ses.append(_sum_se(d))
        by_cutoff = d.groupby(level="cutoff").sum()
        block_ses.append(_sum_se(by_cutoff))
        worse.append(int((by_cutoff < 0).sum()))
    out["elpd_diff"], out["elpd_diff_se"] = diffs, ses
    out["elpd_diff_se_cutoffs"], out["cutoffs_worse"] = block_ses, worse
    return out


def _sum_se(terms: pd.Series) -> float:
    """Return the standard error of the sum of exchangeable ``terms``: sqrt(n var)."""
    return float(math.sqrt(len(terms) * terms.var(ddof=1))) if len(terms) > 1 else math.nan


def summarise_lfo(scores: pd.DataFrame, converged_only: bool = True) -> pd.DataFrame:
    """Summarise the leave-future-out scores per model.

    Per model: sum of elpd (SE), difference to the best model (SE of the paired differences),
    50%/90% coverage; over all cut-offs (``cutoff = "all"``) and per cut-off. A cut-off at
    which any model's refit missed the convergence gate (after its retry) is left out for
    every model, so models are compared on the same figures and never on an unconverged
    fit: ``cutoffs_left_out`` names them, ``fits_unconverged`` counts a model's failed refits.
    ``converged_only=False`` (smoke runs at reduced settings only) compares every cut-off and
    names the unconverged ones in ``cutoffs_unconverged_compared`` instead.
    """
    converged = scores.groupby("cutoff")["converged"].all()
    bad = sorted(converged.index[~converged])
    left_out = bad if converged_only else []
    compared = scores[~scores["cutoff"].isin(left_out)]
    unconverged = (
        scores.groupby(["model", "cutoff"])["converged"].first().eq(False).groupby("model").sum()
    )
    if compared.empty:  # every cut-off left out: one row per model, no scores to compare
        table = _nothing_compared(scores)
    else:
        parts = [_elpd_summary(compared).assign(cutoff="all")]
        for cutoff, g in compared.groupby("cutoff"):
            parts.append(_elpd_summary(g).assign(cutoff=cutoff))
        table = pd.concat(parts, ignore_index=True)
    table.insert(
        table.columns.get_loc("fits"),
        "fits_unconverged",
        table["model"].map(unconverged).fillna(0).astype(int),
    )
    table["cutoffs_left_out"] = "; ".join(left_out)
    table["cutoffs_unconverged_compared"] = "" if converged_only else "; ".join(bad)
    return table[["cutoff"] + [c for c in table.columns if c != "cutoff"]]


def horizon_calibration(scores: pd.DataFrame) -> pd.DataFrame:
    """Calibration of each model's forecasts by horizon, from its own converged refits.

    One row per model and horizon band (``HORIZON_BANDS_YEARS``; horizon = years from the
    cut-off to the figure's date): figures scored, refits they come from, share inside the
    central 50% / 90% of their predictive replicate (mid-PIT), the binomial probability of
    a coverage at most that low if the intervals were calibrated and the figures
    independent (they are not: the figures after one cut-off share one extrapolated path),
    and the mean elpd per figure. Unlike the comparison of models (``summarise_lfo``), a
    model's calibration needs only its own refits to have passed the convergence gate; its
    unconverged refits are counted (``refits_unconverged``) and not scored. ``mean_pit`` and
    ``share_above_median`` (figures above their forecast's median) show a direction: about
    0.5 each if the forecasts are unbiased, above it when the figures came in higher than
    forecast.
    """
    horizon = (pd.to_datetime(scores["date"]) - pd.to_datetime(scores["cutoff"])).dt.days / 365.25
    edges = list(HORIZON_BANDS_YEARS)
    labels = [f"{lo:g}-{hi:g} years" for lo, hi in itertools.pairwise(edges)]
    if horizon.max() > edges[-1]:
        edges.append(math.inf)
        labels.append(f"over {HORIZON_BANDS_YEARS[-1]:g} years")
    band = pd.cut(horizon, edges, labels=labels, right=True)
    table = scores.assign(band=band, horizon_years=horizon)
    rows = []
    for model, g in table.groupby("model", sort=False):
        refits = g.groupby("cutoff")["converged"].first()
        scored = g[g["converged"].astype(bool)]
        unconverged = int((~refits.astype(bool)).sum())
        for label in labels:
            band = _band_calibration(scored[scored["band"] == label])
            counts = {k: band.pop(k) for k in ("figures", "refits")}
            rows.append(
                {"model": model, "horizon": label, **counts, "refits_unconverged": unconverged}
                | band
            )
    return pd.DataFrame(rows)


def _band_calibration(band: pd.DataFrame) -> dict:
    """Coverage, binomial p, PIT direction and elpd of one horizon band's scored figures.

    Every statistic but the counts is NaN for a band without figures.
    """
    from scipy.stats import binom

    n = len(band)
    out = {"figures": n, "refits": int(band["cutoff"].nunique())}
    if not n:
        statistics = (
            "longest_years",
            "coverage_50",
            "coverage_90",
            "p_coverage_50_this_low",
            "p_coverage_90_this_low",
            "mean_pit",
            "share_above_median",
            "elpd_per_figure",
        )
        return out | dict.fromkeys(statistics, math.nan)
    return out | {
        "longest_years": float(band["horizon_years"].max()),
        "coverage_50": float(band["inside_50"].mean()),
        "coverage_90": float(band["inside_90"].mean()),
        **{
            f"p_coverage_{prob}_this_low": float(
                binom.cdf(int(band[f"inside_{prob}"].sum()), n, prob / 100)
            )
            for prob in (50, 90)
        },
        "mean_pit": float(band["pit"].mean()),
        "share_above_median": float((band["pit"] > 0.5).mean()),
        "elpd_per_figure": float(band["elpd"].mean()),
    }


HORIZON_NOTES = (
    "Calibration of each model's forecasts by horizon (years from the cut-off to the figure's "
    "date), from the model's own refits that passed the convergence gate (refits_unconverged "
    "counts the others, which are not scored). coverage_50/90: share of figures inside the "
    "central 50%/90% of their posterior predictive replicate by mid-PIT; "
    "p_coverage_50/90_this_low: binomial probability of so few figures inside the 50%/90% "
    "interval if it were calibrated and the figures independent (they are not: figures after one "
    "cut-off share one extrapolated path, so it is optimistic); mean_pit and "
    "share_above_median: the mean mid-PIT and the share of figures above their forecast's "
    "median (about 0.5 each without bias; higher: the figures came in above the forecasts); "
    "elpd_per_figure: mean log predictive density per figure."
)


def _nothing_compared(scores: pd.DataFrame) -> pd.DataFrame:
    """Return the summary when every cut-off is left out: per model, no figures, no elpd."""
    table = _elpd_summary(scores).assign(cutoff="all", figures=0, cutoffs_worse=0)
    compared_only = [c for c in table.columns if c.startswith(("elpd", "coverage_"))]
    table[compared_only] = math.nan
    return table


def nothing_compared(summary: pd.DataFrame) -> bool:
    """Return True when ``summarise_lfo`` left every cut-off out (no figure compared)."""
    return bool((summary["figures"] == 0).all())


def run_lfo(
    paths,
    cutoffs=DEFAULT_CUTOFFS,
    settings=None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    converged_only: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (scores, summary) for every model TOML in ``paths`` and cut-off.

    The refits run via ``sweeps.run_sweep``; ``progress(done, total)`` is called as fits finish;
    ``converged_only``: as in ``summarise_lfo``.
    """
    from bayes_koryo.validation.sweeps import run_sweep

    cutoffs = [dt.date.fromisoformat(str(c)).isoformat() for c in cutoffs]
    tasks = [lfo_task(p, c, settings) for p in paths for c in cutoffs]
    results = run_sweep(fit_lfo, tasks, scheduler=scheduler, workers=workers, progress=progress)
    scores = pd.DataFrame([row for rows in results for row in rows])
    return scores, summarise_lfo(scores, converged_only)


LFO_NOTES = (
    "elpd: log predictive density of each later reported subscriber figure under the model "
    "refitted on the figures up to the cut-off (audited counts: density of log y; rounded "
    "figures: probability of the rounding cell), log-mean over posterior draws; elpd_se = "
    "sqrt(n var(elpd_i)); elpd_diff: to the best model; elpd_diff_se: SE of the paired "
    "per-figure differences, which treats the figures as independent although the figures "
    "after one cut-off share one extrapolated trajectory, so it understates the uncertainty; "
    "elpd_diff_se_cutoffs: SE from the per-cut-off sums of the differences (cut-offs as the "
    "units; n/a with one cut-off; crude with few cut-offs); cutoffs_worse: cut-offs at which "
    "the model scores below the best one. A refit that misses the convergence gate is retried "
    "once (target acceptance 0.99, twice the warm-up); a cut-off with a refit that still "
    "misses it is left out for every model (cutoffs_left_out). "
    "coverage_50/90: share of figures inside the "
    "central 50%/90% of their posterior predictive replicate by mid-PIT (rounded figures: "
    "the replicate's mass below the cell plus half its mass in the cell)."
)


def write_lfo(
    scores: pd.DataFrame, summary: pd.DataFrame, out_dir, meta: dict | None = None
) -> list[Path]:
    """Write ``lfo_scores.*``, ``lfo_summary.*`` and ``lfo_horizons.*`` (csv, json, md)."""
    from bayes_koryo.validation.sensitivity import write_table

    out_dir = Path(out_dir)
    meta = {**(meta or {}), "seeds": sorted({int(s) for s in scores["seed"]})}
    return (
        write_table(summary, out_dir / "lfo_summary", "Leave-future-out summary", LFO_NOTES, meta)
        + write_table(scores, out_dir / "lfo_scores", "Leave-future-out scores", LFO_NOTES, meta)
        + write_table(
            horizon_calibration(scores),
            out_dir / "lfo_horizons",
            "Leave-future-out calibration by forecast horizon",
            HORIZON_NOTES,
            meta,
        )
    )


__all__ = [
    "DEFAULT_CUTOFFS",
    "fit_lfo",
    "horizon_calibration",
    "lfo_task",
    "run_lfo",
    "score_figures",
    "split_observations",
    "summarise_lfo",
    "write_lfo",
]
