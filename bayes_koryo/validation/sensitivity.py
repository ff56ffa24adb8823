"""Prior sensitivity: power-scaling, prior-to-posterior contraction and overlap, model variants.

Three views of "which conclusions rest on data and which on assumptions" (MODELLING_BRIEF):

* ``psense_table(model)`` — power-scaling sensitivity (Kallioinen et al. 2024, Stat Comput
  34:57) with ``arviz_stats.psense``: the cumulative Jensen-Shannon distance between the
  posterior and the posterior with the prior (or the likelihood) raised to a power
  alpha = 0.99 / 1.01, per unit of log(alpha), importance-weighted with Pareto smoothing (no
  refit). Only the top-level priors are power-scaled: the log_prior terms of the free scalar
  parameters (``free_parameters``); the N(0, 1) innovations of the non-centred
  hierarchical pace deviations are model structure, not prior assumptions (Kallioinen
  et al. 2024, sec. 5, scale "the priors of interest"). Diagnosis at ``PSENSE_THRESHOLD``:
  prior >= 0.05 and likelihood >= 0.05 -> "prior-data conflict"; prior >= 0.05 and
  likelihood < 0.05 -> "strong prior / weak likelihood"; otherwise "-".
* ``contraction_table(model)`` — per quantity, posterior contraction
  ``1 - Var_post / Var_prior`` (Betancourt 2018, "Calibrating model-based inferences and
  decisions", arXiv:1803.08393; Schad, Betancourt & Vasishth 2021, Psychological Methods
  26(1):103-126) and the overlapping coefficient ``OVL = sum_bins min(p_prior, p_post)``
  of the two densities, estimated by histograms on ``OVERLAP_BINS`` common equal-width bins
  spanning the 0.5%-99.5% range of the pooled draws (1 = identical, 0 = disjoint). Flags:
  contraction >= ``CONTRACTION_DATA_DRIVEN`` (0.5: the data at least halve the prior
  variance) -> "data-driven"; contraction < ``CONTRACTION_SMALL`` (0.2) and overlap >=
  ``OVERLAP_PRIOR_DOMINATED`` (0.7) -> "prior-dominated" (posterior is nearly the prior);
  anything else -> "weakly identified" (the data move or narrow it, but less than half the
  prior variance). Schad et al. read contraction near 0 as "the data are uninformative",
  near 1 as "strongly informed"; the 0.5 / 0.2 cut-offs are ours, stated here.
* ``run_variants(paths)`` — refits of the model variants in ``models/`` (growth forms,
  priors, left-out figures) with ``bayes_koryo.validation.sweeps.run_sweep``; ``variants_table`` and
  ``tornado`` compare U(May 2013), U/S and penetration_10plus(May 2013) with the baseline.

Quantities (``QUANTITIES``): every free scalar parameter plus the headline quantities
``unique_users`` at 2012-02-02 and 2013-05-28 (millions), ``real_user_share`` (U/S),
``sims_per_user`` (S/U), ``user_ceiling`` (millions), ``penetration_10plus`` at 2013-05-28
and the four ``decomposition_*`` parts of the May-2013 subscriptions (millions of SIMs).
Intervals follow ``bayes_koryo.outputs.report`` (90% ETI) and carry their MCSE.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_koryo.inference.prior_sensitivity import (
    HEADLINE,
    PSENSE_THRESHOLD,
    diagnose_psense,
    prior_group_sensitivity,
    psense_frame,
    psense_table,
    quantity_draws,
)
from bayes_koryo.outputs.report import summary_row
from bayes_koryo.outputs.tables import markdown_table
from bayes_koryo.outputs.tables import write_table as write_table_files
from bayes_koryo.study import CI_KIND, CI_PROB, TWO_MILLION_DATE
from bayes_koryo.validation.sweeps import RETRY_TARGET_ACCEPT, RETRY_TUNE_FACTOR

CONTRACTION_DATA_DRIVEN = 0.5
CONTRACTION_SMALL = 0.2
OVERLAP_PRIOR_DOMINATED = 0.7
OVERLAP_BINS = 50
PRIOR_DRAWS = 4000
"""Prior draws sampled for the contraction table when a run carries no prior group."""

VARIANT_QUANTITIES = (
    ("unique_users", TWO_MILLION_DATE, "U(May 2013)", "million people"),
    ("real_user_share", None, "U/S", "fraction"),
    ("penetration_10plus", TWO_MILLION_DATE, "penetration 10+ (May 2013)", "fraction"),
)
"""The quantities compared across model variants: (variable, date, label, units)."""


# --------------------------------------------------------------------------- contraction


def overlap_coefficient(a, b, bins: int = OVERLAP_BINS) -> float:
    """Compute the overlapping coefficient of the densities of draws ``a`` and ``b``.

    The coefficient is the sum over common equal-width histogram bins (``bins`` of them over
    the 0.5%-99.5% range of the pooled draws, so the outer tails do not stretch the bins) of
    min(p_a, p_b), p = bin mass. Draws outside that range count in the outermost bins.
    """
    a = np.asarray(a, float).ravel()
    b = np.asarray(b, float).ravel()
    lo, hi = np.quantile(np.concatenate([a, b]), [0.005, 0.995])
    if not hi > lo:
        return 1.0
    edges = np.linspace(lo, hi, bins + 1)
    pa = np.histogram(np.clip(a, lo, hi), edges)[0] / a.size
    pb = np.histogram(np.clip(b, lo, hi), edges)[0] / b.size
    return float(np.minimum(pa, pb).sum())


def contraction_flag(contraction: float, overlap: float) -> str:
    """Classify a quantity as 'data-driven', 'prior-dominated' or 'weakly identified'.

    The thresholds are in the module docstring.
    """
    if contraction >= CONTRACTION_DATA_DRIVEN:
        return "data-driven"
    if contraction < CONTRACTION_SMALL and overlap >= OVERLAP_PRIOR_DOMINATED:
        return "prior-dominated"
    return "weakly identified"


def prior_draws(model, draws: int = PRIOR_DRAWS, seed: int | None = None) -> tuple[xr.Dataset, int]:
    """Return (prior Dataset, seed) of a fitted model.

    The run's prior group if it has one (seed ``prior_seed``), else ``draws`` new draws from
    ``KoryoModel.sample_prior_predictive`` (seed: ``seed`` or the config's).
    """
    idata = model.idata
    if idata is not None and "prior" in idata.children:
        return idata["prior"].to_dataset(), int(
            idata.attrs.get("prior_seed", model.config.sampler.seed)
        )
    seed = model.config.sampler.seed if seed is None else int(seed)
    prior = model.sample_prior_predictive(draws=draws, seed=seed)
    return prior["prior"].to_dataset(), seed


def _contraction(prior: xr.DataArray, post: xr.DataArray) -> tuple[float, float]:
    """Return (1 - Var_post / Var_prior, its Monte Carlo standard error).

    The MCSE propagates the relative errors of both sds (delta method): the posterior sd's
    from ``arviz.mcse`` (method "sd", autocorrelation-aware), the independent prior draws' as
    sd * sqrt((kurtosis - 1) / (4 n)).
    """
    import arviz_stats as azs

    a = prior.values.ravel()
    sd_prior, sd_post = float(np.std(a)), float(post.std())
    kurtosis = float(np.mean((a - a.mean()) ** 4) / sd_prior**4)
    rel_prior = math.sqrt(max(kurtosis - 1.0, 0.0) / (4 * a.size))
    rel_post = float(azs.mcse(post.rename(None).to_dataset(name="x"), method="sd")["x"]) / sd_post
    contraction = 1.0 - (sd_post / sd_prior) ** 2
    return contraction, (1.0 - contraction) * 2.0 * math.hypot(rel_prior, rel_post)


def contraction_table(model, prob: float = CI_PROB, kind: str = CI_KIND) -> pd.DataFrame:
    """Compare prior and posterior of every checked quantity.

    Columns: medians and ``prob`` ``kind`` intervals (posterior with MCSE), contraction,
    overlap and flag (module docstring).
    """
    prior_ds, prior_seed = prior_draws(model)
    post = quantity_draws(model.idata["posterior"].to_dataset(), model.config)
    prior = quantity_draws(prior_ds, model.config)
    rows = []
    for name in map(str, post.data_vars):
        row = summary_row(post[name], name, None, "", prob, kind, prior[name])
        a, b = prior[name].values.ravel(), post[name].values.ravel()
        contraction, contraction_mcse = _contraction(prior[name], post[name])
        overlap = overlap_coefficient(a, b)
        rows.append(
            {
                "quantity": name,
                "prior_median": float(np.median(a)),
                "prior_ci_low": row["prior_ci_low"],
                "prior_ci_high": row["prior_ci_high"],
                "median": row["median"],
                "ci_low": row["ci_low"],
                "ci_high": row["ci_high"],
                "mcse_median": row["mcse_median"],
                "ci_prob": prob,
                "ci_kind": kind,
                "contraction": contraction,
                "contraction_mcse": contraction_mcse,
                "overlap": overlap,
                "flag": contraction_flag(contraction, overlap),
                "prior_draws": int(a.size),
                "prior_seed": prior_seed,
            }
        )
    return pd.DataFrame(rows)


def sensitivity_table(model, prob: float = CI_PROB, kind: str = CI_KIND) -> pd.DataFrame:
    """``contraction_table`` joined with ``psense_table`` (one row per quantity)."""
    return contraction_table(model, prob, kind).merge(
        psense_table(model), on="quantity", how="left", validate="one_to_one"
    )


# --------------------------------------------------------------------------- output


def _fmt(value, digits: int = 3) -> str:
    """Format a table cell: floats to ``digits`` significant digits, non-finite as empty."""
    if isinstance(value, (float, np.floating)):
        return "" if not math.isfinite(value) else f"{value:.{digits}g}"
    return str(value)


def to_markdown(table: pd.DataFrame, title: str = "", notes: str = "") -> str:
    """Render ``table`` as GitHub-flavoured markdown (numbers to 3 significant digits)."""
    rows = ([_fmt(v) for v in row] for row in table.itertuples(index=False))
    text = markdown_table(list(table.columns), rows)
    return (f"{title}\n\n" if title else "") + text + (f"\n\n{notes}" if notes else "") + "\n"


def write_table(
    table: pd.DataFrame, stem: Path, title: str = "", notes: str = "", meta: dict | None = None
) -> list[Path]:
    """Write ``stem``.csv, .json (``{"meta": ..., "rows": [...]}``) and .md atomically."""
    return write_table_files(
        table, stem, header={"meta": meta or {}}, markdown=to_markdown(table, title, notes)
    )


SENSITIVITY_NOTES = (
    f"Intervals: {CI_PROB:.0%} {CI_KIND}; mcse_median is the Monte Carlo standard error of the "
    "posterior median, contraction_mcse that of the contraction. contraction = 1 - "
    "Var_post/Var_prior; overlap = overlapping coefficient "
    f"of prior and posterior densities (histograms, {OVERLAP_BINS} common bins). flag: "
    f"data-driven if contraction >= {CONTRACTION_DATA_DRIVEN}; prior-dominated if contraction "
    f"< {CONTRACTION_SMALL} and overlap >= {OVERLAP_PRIOR_DOMINATED}; else weakly identified. "
    "prior/likelihood_sensitivity: power-scaling (CJS distance, alpha 0.99-1.01; Kallioinen "
    f"et al. 2024), diagnosis at {PSENSE_THRESHOLD}."
)

PRIOR_GROUP_NOTES = (
    "Power-scaling sensitivity (CJS distance per unit log-alpha, alpha 0.99-1.01; Kallioinen "
    "et al. 2024) of each headline quantity when the likelihood, all priors, or one group of "
    "priors alone is power-scaled (arviz_stats.psense with group_var_names). Groups: "
    "demography (population, children under 10, soldiers); ceiling (ceiling_share, or "
    "subscription_ceiling where that carries the prior); diffusion (growth rates, restricted "
    "pace, access clock, pace deviations); coverage; heavy_users (heavy_user_share and "
    "sims_beyond_two: the pi and m of MODEL.md); official_share; inactive_share; activity and "
    "sharing in the variants that have them. most_influential_prior: the group with the "
    "largest sensitivity. "
    f"Sensitivity >= {PSENSE_THRESHOLD} marks an informative prior; diagnosis from all priors "
    "and the likelihood. max_pareto_k: largest Pareto k of the importance weights behind the "
    "scaled priors (above 0.7 the values are unreliable)."
)


# --------------------------------------------------------------------------- variants


@dataclass(frozen=True)
class VariantSettings:
    """Sampler settings shared by every variant of a sweep (None: the config's)."""

    seed: int | None = None
    draws: int | None = None
    tune: int | None = None
    chains: int | None = None


def variant_task(config_path, settings: VariantSettings = VariantSettings()) -> dict:
    """Build the sweep task (plain data) for one model TOML.

    The task's ``structure`` groups same-structure variants onto one worker, which compiles
    that structure once.
    """
    from bayes_koryo.inference.fit import KoryoModel

    model = KoryoModel(config_path)
    config = model.config
    seed = config.sampler.seed if settings.seed is None else int(settings.seed)
    return {
        "config": config.to_dict(),
        "path": str(config_path),
        "seed": seed,
        "draws": settings.draws or config.sampler.draws,
        "tune": settings.tune or config.sampler.tune,
        "chains": settings.chains or config.sampler.chains,
        "structure": model.structure_key(),
    }


def fit_variant(task: dict) -> dict:
    """Fit one variant (a task of ``variant_task``) and summarise it: plain data only.

    A fit that misses the convergence gate is refitted once (``sweeps.fit_with_retry``: same
    seed, higher target acceptance, longer warm-up); the row reports the
    retry (``attempts`` = 2, ``first_attempt`` = the first fit's failures), so no unconverged
    fit is compared as if converged and no failure goes unrecorded. A model of an already
    compiled structure (same process) reuses the compiled code; prior values differ through
    ``pm.Data``, so prior-value variants never recompile.
    """
    from bayes_koryo.data import data_hash
    from bayes_koryo.validation.sweeps import fit_with_retry

    model, first = fit_with_retry(task["config"], task["path"], task)
    idata, config = model.idata, model.config
    post = idata["posterior"].to_dataset()
    summary = model.diagnostics.summary()
    row: dict[str, Any] = {
        "variant": config.name,
        "changes": config.description,
        "growth_form": config.growth_form,
        "data_hash": data_hash(model.observations),
    }
    for variable, date, label, units in VARIANT_QUANTITIES:
        da = post[variable].sel(date=date) if date else post[variable]
        s = summary_row(da, label, date, units)
        row.update(
            {
                f"{label} median": s["median"],
                f"{label} ci_low": s["ci_low"],
                f"{label} ci_high": s["ci_high"],
                f"{label} mcse_median": s["mcse_median"],
            }
        )
    table = model.diagnostics.table
    row.update(
        {
            "ci_prob": CI_PROB,
            "ci_kind": CI_KIND,
            "divergences": summary["divergences"],
            "max_r_hat": summary["max_r_hat"],
            "min_ess": float(min(table["ess_bulk"].min(), table["ess_tail"].min())),
            "converged": bool(summary["converged"]),
            "failures": "; ".join(summary["failures"][:3]),
            "attempts": 1 if first["converged"] else 2,
            "first_attempt": "passed" if first["converged"] else "; ".join(first["failures"][:3]),
            "target_accept": config.sampler.target_accept,
            "seed": task["seed"],
            "draws": task["draws"],
            "tune": task["tune"] * (1 if first["converged"] else RETRY_TUNE_FACTOR),
            "chains": task["chains"],
            "compile_seconds": model.compile_seconds,
            "sampling_seconds": float(idata.attrs["sampling_seconds"]),
        }
    )
    return row


def run_variants(
    paths,
    settings: VariantSettings = VariantSettings(),
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Fit every model TOML in ``paths`` and return ``variants_table`` of the results.

    The fits run via ``sweeps.run_sweep``; same-structure variants share one compile per
    worker; ``progress(done, total)`` is called as fits finish.
    """
    from bayes_koryo.validation.sweeps import run_sweep

    tasks = [variant_task(p, settings) for p in paths]
    results = run_sweep(fit_variant, tasks, scheduler=scheduler, workers=workers, progress=progress)
    return variants_table(results)


def variants_table(rows: list[dict], baseline: str = "baseline") -> pd.DataFrame:
    """Tabulate the results of ``fit_variant``, with the shift from the baseline.

    Each quantity's median is compared with the ``baseline`` variant's (``... shift``
    columns: median / baseline median - 1).
    """
    table = pd.DataFrame(rows)
    base = table[table["variant"] == baseline]
    for _, _, label, _ in VARIANT_QUANTITIES:
        ref = float(base[f"{label} median"].iloc[0]) if len(base) else math.nan
        table[f"{label} shift"] = table[f"{label} median"] / ref - 1.0
    return table


VARIANT_NOTES = (
    f"Each quantity: posterior median with its {CI_PROB:.0%} {CI_KIND} and the MCSE of the "
    "median; shift = median / baseline median - 1. Convergence: 0 divergences, max R-hat <= "
    "1.01, min ESS (bulk and tail, over parameters and headline quantities) >= 400 / 1000 "
    "(headline). A fit that misses the gate is refitted once with the same seed at target "
    f"acceptance {RETRY_TARGET_ACCEPT} and {RETRY_TUNE_FACTOR}x the warm-up (attempts = 2; "
    "first_attempt: why the first fit failed); a variant that still misses it is marked "
    "converged = False, not dropped."
)


STRUCTURAL_FIELDS = (
    "quantity",
    "variable",
    "date",
    "units",
    "ci_prob",
    "ci_kind",
    "baseline_median",
    "baseline_ci_low",
    "baseline_ci_high",
    "structural_low",
    "structural_high",
    "low_variant",
    "high_variant",
    "largest_shift_variant",
    "largest_shift",
    "max_mcse_median",
    "variants",
    "declared",
    "left_out",
    "data_hash",
)
"""Columns of ``structural_range`` (and fields of structural_range.json's rows)."""

STRUCTURAL_NOTES = (
    f"Structural range: the union of the {CI_PROB:.0%} {CI_KIND}s of the declared variants "
    "that passed the convergence gate (lowest lower bound to highest upper bound; not an "
    "equal-weight mixture, which would claim every variant equally probable). low_variant / "
    "high_variant: the variants that set its ends; largest_shift_variant: the variant whose "
    "median moves furthest from the baseline's (largest_shift = median / baseline median - 1). "
    "variants: converged declared variants; left_out: declared variants that missed the gate."
)


def structural_range(table: pd.DataFrame, declared, baseline: str = "baseline") -> pd.DataFrame:
    """Return, per compared quantity, the union of the intervals of the declared variants.

    ``table``: ``variants_table`` of fits that include every ``declared`` variant (names);
    unconverged declared variants are left out of the union and named in ``left_out``. Columns
    ``STRUCTURAL_FIELDS``; ValueError when a declared variant was not fitted or the fits
    disagree on the data.
    """
    declared = list(declared)
    missing = [v for v in declared if v not in set(table["variant"])]
    if missing:
        raise ValueError(f"structural_range: declared variant(s) not fitted: {', '.join(missing)}")
    rows = table[table["variant"].isin(declared)]
    hashes = sorted(set(rows["data_hash"]))
    if len(hashes) != 1:
        raise ValueError(f"structural_range: the declared variants saw different data: {hashes}")
    used = rows[rows["converged"].astype(bool)]
    if baseline not in set(used["variant"]):
        raise ValueError(f"structural_range: the {baseline!r} fit missed the convergence gate")
    base = used[used["variant"] == baseline].iloc[0]
    out = []
    for variable, date, label, units in VARIANT_QUANTITIES:
        low, high = used[f"{label} ci_low"], used[f"{label} ci_high"]
        shift = used[f"{label} shift"].abs()
        out.append(
            {
                "quantity": label,
                "variable": variable,
                "date": date,
                "units": units,
                "ci_prob": CI_PROB,
                "ci_kind": CI_KIND,
                "baseline_median": float(base[f"{label} median"]),
                "baseline_ci_low": float(base[f"{label} ci_low"]),
                "baseline_ci_high": float(base[f"{label} ci_high"]),
                "structural_low": float(low.min()),
                "structural_high": float(high.max()),
                "low_variant": str(used.loc[low.idxmin(), "variant"]),
                "high_variant": str(used.loc[high.idxmax(), "variant"]),
                "largest_shift_variant": str(used.loc[shift.idxmax(), "variant"]),
                "largest_shift": float(used.loc[shift.idxmax(), f"{label} shift"]),
                "max_mcse_median": float(used[f"{label} mcse_median"].max()),
                "variants": len(used),
                "declared": len(declared),
                "left_out": "; ".join(sorted(set(rows["variant"]) - set(used["variant"]))),
                "data_hash": hashes[0],
            }
        )
    return pd.DataFrame(out, columns=list(STRUCTURAL_FIELDS))


def structural_table(table: pd.DataFrame) -> str:
    """Render the rows of ``structural_range`` as a Markdown table (no title or notes).

    Per quantity: the baseline interval, the range, the variants at its ends and the one that
    moves the median most; numbers rounded as in the variants table (to the digits the
    largest MCSE of a variant's median supports).
    """
    from bayes_koryo.outputs.digits import rounded

    head = [
        "quantity",
        f"baseline median ({CI_PROB:.0%} {CI_KIND})",
        "structural range",
        "set by (low / high)",
        "moves the median most",
        "variants",
    ]
    rows = []
    for r in table.itertuples():
        m = r.max_mcse_median
        rows.append(
            [
                r.quantity,
                f"{rounded(r.baseline_median, m)} ({rounded(r.baseline_ci_low, m)}-"
                f"{rounded(r.baseline_ci_high, m)})",
                f"{rounded(r.structural_low, m)}-{rounded(r.structural_high, m)}",
                f"{r.low_variant} / {r.high_variant}",
                f"{r.largest_shift_variant} ({100 * r.largest_shift:+.1f}%)",
                f"{r.variants} of {r.declared}"
                + (f" (left out: {r.left_out})" if r.left_out else ""),
            ]
        )
    return markdown_table(head, rows)


def structural_markdown(table: pd.DataFrame) -> str:
    """Render ``structural_range`` as Markdown: title, ``structural_table`` and its notes."""
    return f"Structural range\n\n{structural_table(table)}\n\n{STRUCTURAL_NOTES}\n"


def write_structural_range(table: pd.DataFrame, out_dir, meta: dict | None = None) -> list[Path]:
    """Write ``structural_range.csv|json|md`` (``structural_range``'s table) to ``out_dir``."""
    return write_table_files(
        table,
        Path(out_dir) / "structural_range",
        header={"meta": meta or {}},
        markdown=structural_markdown(table),
    )


def tornado(table: pd.DataFrame, baseline: str = "baseline"):
    """Draw a tornado chart of the model variants; return the matplotlib figure.

    Per variant, the shift of each quantity's median from the baseline's (bar, %) with the
    variant's 90% ETI relative to the baseline median (line); the baseline's own interval is
    the grey band. Variants sorted by |shift| of U(May 2013); unconverged variants hatched
    and labelled.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bayes_koryo.outputs.plots import STYLE, WIDTH_FULL

    labels = [q[2] for q in VARIANT_QUANTITIES]
    base = table[table["variant"] == baseline].iloc[0]
    others = table[table["variant"] != baseline].copy()
    others = others.iloc[
        np.argsort(-np.abs(others[f"{labels[0]} shift"].to_numpy()), kind="stable")[::-1]
    ]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(
            1, len(labels), figsize=(WIDTH_FULL, 0.28 * len(others) + 1.2), sharey=True
        )
        y = np.arange(len(others))
        for ax, label in zip(axes, labels, strict=True):
            ref = float(base[f"{label} median"])
            ax.axvspan(
                100 * (base[f"{label} ci_low"] / ref - 1),
                100 * (base[f"{label} ci_high"] / ref - 1),
                color="0.9",
                zorder=0,
            )
            shift = 100 * others[f"{label} shift"].to_numpy()
            ok = others["converged"].to_numpy(bool)
            ax.barh(
                y, shift, color=np.where(shift >= 0, "C0", "C3"), height=0.6, hatch=None, zorder=2
            )
            for yi, s, good in zip(y, shift, ok, strict=True):
                if not good:
                    ax.barh(yi, s, height=0.6, fill=False, hatch="////", edgecolor="k", zorder=3)
            ax.hlines(
                y,
                100 * (others[f"{label} ci_low"] / ref - 1),
                100 * (others[f"{label} ci_high"] / ref - 1),
                color="k",
                lw=0.7,
                zorder=4,
            )
            ax.axvline(0, color="k", lw=0.6)
            ax.set_title(f"{label}\nbaseline {ref:.3g}")
            ax.set_xlabel("% change vs baseline median")
        names = [
            v if c else f"{v} (unconverged)"
            for v, c in zip(others["variant"], others["converged"], strict=True)
        ]
        axes[0].set_yticks(y, names)
        fig.text(
            0.01,
            -0.02,
            f"bars: shift of the median; lines: variant's {CI_PROB:.0%} "
            f"{CI_KIND}; grey: baseline's {CI_PROB:.0%} {CI_KIND}",
            fontsize=7,
        )
        fig.tight_layout()
    return fig


def variants_markdown(table: pd.DataFrame) -> str:
    """Render ``variants_table`` as compact markdown.

    Each quantity appears as 'median (low-high) [MCSE]' with digits from ``report.rounded``,
    with its shift from the baseline, followed by the diagnostics.
    """
    from bayes_koryo.outputs.report import rounded

    head = ["variant", "changes"]
    for _, _, label, _ in VARIANT_QUANTITIES:
        head += [f"{label}: median ({CI_PROB:.0%} {CI_KIND}) [MCSE]", "shift"]
    head += ["divergences", "max R-hat", "min ESS", "converged"]
    rows = []
    for row in table.to_dict("records"):
        cells = [row["variant"], row["changes"]]
        for _, _, label, _ in VARIANT_QUANTITIES:
            m = row[f"{label} mcse_median"]
            med, low, high = (
                rounded(row[f"{label} {k}"], m) for k in ("median", "ci_low", "ci_high")
            )
            cells += [f"{med} ({low}-{high}) [{m:.1g}]", f"{100 * row[f'{label} shift']:+.1f}%"]
        cells += [
            str(row["divergences"]),
            f"{row['max_r_hat']:.3f}",
            f"{row['min_ess']:.0f}",
            ("yes" if row["converged"] else "**NO**")
            + (" (after a retry)" if row.get("attempts", 1) > 1 else ""),
        ]
        rows.append(cells)
    return f"Model variants\n\n{markdown_table(head, rows)}\n\n{VARIANT_NOTES}\n"


def write_variants(table: pd.DataFrame, out_dir, meta: dict | None = None) -> list[Path]:
    """Write ``variants.csv|json|md`` and ``tornado.png|pdf`` to ``out_dir`` (atomic).

    The tables are written first, so a failure in drawing the chart loses no fitted result.
    """
    from bayes_koryo.atomic import atomic_write_text

    out_dir = Path(out_dir)
    paths = write_table(table, out_dir / "variants", "Model variants", VARIANT_NOTES, meta)
    atomic_write_text(paths[2], variants_markdown(table))
    import matplotlib.pyplot as plt

    from bayes_koryo.outputs.plots import save_figure

    fig = tornado(table)
    try:
        paths += [save_figure(fig, out_dir / f"tornado.{fmt}") for fmt in ("png", "pdf")]
    finally:
        plt.close(fig)
    return paths


__all__ = [
    "HEADLINE",
    "PSENSE_THRESHOLD",
    "VariantSettings",
    "contraction_flag",
    "contraction_table",
    "diagnose_psense",
    "fit_variant",
    "overlap_coefficient",
    "prior_group_sensitivity",
    "psense_frame",
    "psense_table",
    "quantity_draws",
    "run_variants",
    "sensitivity_table",
    "structural_markdown",
    "structural_range",
    "structural_table",
    "tornado",
    "variant_task",
    "variants_markdown",
    "variants_table",
    "write_structural_range",
    "write_table",
    "write_variants",
]
