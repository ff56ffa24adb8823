"""Leave-one-out with exact refits where PSIS-LOO is unreliable.

PSIS-LOO (``bayes_koryo.inference.checks.posterior_predictive_table``) approximates the fit
without one figure by importance weights; when a figure's Pareto k exceeds
``LOO_K_THRESHOLD`` (0.7) the approximation is unreliable (Vehtari, Simpson, Gelman, Yao &
Gabry 2024, JMLR 25(72)) and the model is refitted without that figure. Each refit drops one
row of the run's own observations (a new observation layout: one compile per refit), uses the
run's config, seed and sampler settings, and scores the left-out figure with the model's own
observation model (``bayes_koryo.validation.lfo.score_figures``): its log predictive density
and its mid-PIT, in the central 90% or not. The 800k active-numbers statement is not a
subscriber count and cannot be scored this way (as in leave-future-out); it is listed as not
refitted, and the refit without the subscriber figure of its date leaves it out as well.

``run_loo(run_path)`` returns one row per reported figure: PSIS values, and for the figures
with k > 0.7 the exact ones; ``loo_summary`` sums the pointwise elpd (exact where refitted)
and applies the leave-one-out check of ``checks.loo_failures`` to the combined PITs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from bayes_koryo.inference.checks import LOO_K_THRESHOLD

ACTIVE_KINDS_NOT_SCORED = ("activity_statement",)
"""Kinds whose figure is not a subscriber count: not refitted (no forecast of them)."""


def loo_tasks(
    model, refit_all: bool = False, only: list[tuple[str, str]] | None = None
) -> tuple[pd.DataFrame, list[dict]]:
    """Return (PSIS table, refit tasks) for a fitted or loaded KoryoModel.

    A task per subscriber figure with Pareto k > ``LOO_K_THRESHOLD`` (every subscriber figure
    with ``refit_all``; only the (kind, ISO date) figures in ``only`` when given); each task
    is plain data: config, the observations without the figure, the figure, seed and settings.
    """
    from bayes_koryo.inference.checks import posterior_predictive_table

    if "posterior_predictive" not in model.idata.children:
        model.sample_posterior_predictive()
    table = posterior_predictive_table(model)
    obs = model.observations
    attrs = model.idata.attrs
    tasks = []
    for row in table.itertuples():
        if row.kind in ACTIVE_KINDS_NOT_SCORED or (row.loo_reliable and not refit_all):
            continue
        if only is not None and (row.kind, row.date) not in only:
            continue
        held = (obs["kind"] == row.kind) & (obs["date"] == pd.Timestamp(row.date))
        dropped = held | _orphaned_active_figures(obs, held)
        tasks.append(
            {
                "config": model.config.to_dict(),
                "train": obs[~dropped].to_dict("records"),
                "test": obs[held].to_dict("records"),
                "also_left_out": "; ".join(
                    f"{k} {pd.Timestamp(d):%Y-%m-%d}"
                    for k, d in zip(
                        obs.loc[dropped & ~held, "kind"],
                        obs.loc[dropped & ~held, "date"],
                        strict=True,
                    )
                ),
                "seed": int(attrs["seed"]),
                "draws": int(attrs["draws"]),
                "tune": int(attrs["tune"]),
                "chains": int(attrs["chains"]),
            }
        )
    return table, tasks


def _orphaned_active_figures(obs: pd.DataFrame, held: pd.Series) -> pd.Series:
    """Active-numbers statements left without a subscriber figure of their date by ``held``.

    The 800k statement enters the model as a share of the subscriber figure of its date; the
    refit without that subscriber figure must leave the statement out too.
    """
    subscribers = obs[(obs["quantity"] == "subscribers") & ~held]
    covered = set(subscribers["date"])
    return (obs["quantity"] != "subscribers") & ~obs["date"].isin(covered)


def fit_loo(task: dict) -> list[dict]:
    """Refit without one figure and score it (a task of ``loo_tasks``): plain data only.

    A refit that misses the convergence gate is retried once (``sweeps.fit_with_retry``).
    """
    from bayes_koryo.validation.lfo import score_figures
    from bayes_koryo.validation.sweeps import fit_with_retry

    train = pd.DataFrame(task["train"])
    model, first = fit_with_retry(task["config"], "<loo>", task, train)
    scores = score_figures(model, pd.DataFrame(task["test"]), task["seed"])
    summary = model.diagnostics.summary()
    scores["attempts"] = 1 if first["converged"] else 2
    scores["also_left_out"] = task["also_left_out"]
    scores["converged"] = bool(summary["converged"])
    scores["divergences"] = summary["divergences"]
    scores["max_r_hat"] = summary["max_r_hat"]
    return scores.to_dict("records")


def run_loo(
    model,
    refit_all: bool = False,
    only: list[tuple[str, str]] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Return the leave-one-out table of a fitted KoryoModel, with exact refits where needed.

    ``refit_all`` / ``only``: as in ``loo_tasks``.

    Columns: those of ``posterior_predictive_table`` (kind, date, reported, in-sample pit,
    inside_50, inside_90; PSIS pareto_k, elpd_loo, loo_pit, loo_inside_90) and, for refitted
    figures, ``refitted``, ``elpd_exact``, ``pit_exact``, ``inside_90_exact`` and
    ``refit_converged``; then ``elpd``, ``pit_loo`` and ``inside_90_loo``: the exact values
    where refitted, else PSIS; ``trusted``: refitted or Pareto k <= 0.7.
    """
    from bayes_koryo.validation.sweeps import run_sweep

    table, tasks = loo_tasks(model, refit_all, only)
    results = run_sweep(fit_loo, tasks, scheduler=scheduler, workers=workers, progress=progress)
    exact = {(r["kind"], r["date"]): r for rows in results for r in rows}
    out = table[
        [
            "kind",
            "date",
            "reported",
            "pit",
            "inside_50",
            "inside_90",
            "pareto_k",
            "elpd_loo",
            "loo_pit",
            "loo_inside_90",
        ]
    ].copy()
    out["refitted"] = [(k, d) in exact for k, d in zip(out["kind"], out["date"], strict=True)]
    for column, source in (
        ("elpd_exact", "elpd"),
        ("pit_exact", "pit"),
        ("inside_90_exact", "inside_90"),
        ("refit_converged", "converged"),
        ("also_left_out", "also_left_out"),
    ):
        out[column] = [
            exact[(k, d)][source] if (k, d) in exact else None
            for k, d in zip(out["kind"], out["date"], strict=True)
        ]
    out["elpd"] = out["elpd_exact"].where(out["refitted"], out["elpd_loo"]).astype(float)
    out["pit_loo"] = out["pit_exact"].where(out["refitted"], out["loo_pit"]).astype(float)
    out["inside_90_loo"] = (
        out["inside_90_exact"].where(out["refitted"], out["loo_inside_90"]).astype(bool)
    )
    out["trusted"] = out["refitted"] | (out["pareto_k"] <= LOO_K_THRESHOLD)
    return out


def loo_summary(table: pd.DataFrame) -> dict:
    """Return the summed elpd (exact where refitted), counts and the check's verdict."""
    from bayes_koryo.inference.checks import outside_90_failures

    trusted = table[table["trusted"]]
    verdict = outside_90_failures(trusted, trusted["inside_90_loo"].astype(bool))
    return {
        "figures": len(table),
        "refitted": int(table["refitted"].sum()),
        "unconverged_refits": int(
            (table["refitted"] & ~table["refit_converged"].fillna(True).astype(bool)).sum()
        ),
        "untrusted": table.loc[~table["trusted"], "kind"].tolist(),
        "elpd_trusted": float(trusted["elpd"].sum()),
        "outside_90": int((~trusted["inside_90_loo"].astype(bool)).sum()),
        "failures": verdict,
    }


def write_loo(table: pd.DataFrame, out_dir, meta: dict | None = None) -> list[Path]:
    """Write ``loo.csv|json|md`` to ``out_dir`` (atomic)."""
    from bayes_koryo.validation.sensitivity import write_table

    return write_table(table, Path(out_dir) / "loo", "Leave-one-out", LOO_NOTES, meta)


LOO_NOTES = (
    f"PSIS-LOO per figure from the run's log_likelihood (pareto_k; elpd_loo; loo_pit, the mid-PIT "
    f"under the LOO weights); figures with Pareto k > {LOO_K_THRESHOLD} are refitted without the "
    "figure (same config, seed and settings) and scored exactly (elpd_exact, pit_exact). elpd, "
    "pit_loo, inside_90_loo: exact where refitted, else PSIS; trusted: refitted or k <= "
    f"{LOO_K_THRESHOLD}. The active-numbers statement is not refitted (not a subscriber count); "
    "a refit without the subscriber figure it is a share of leaves it out too (also_left_out)."
)

__all__ = ["fit_loo", "loo_summary", "loo_tasks", "run_loo", "write_loo"]
