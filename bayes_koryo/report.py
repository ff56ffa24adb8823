"""Citable summaries of a fitted run: one row per headline quantity, digits backed by MCSE.

One interval convention for the whole package: ``CI_PROB`` (0.90) equal-tailed intervals
(``CI_KIND = "ETI"``); HDI on request (``ci_kind="HDI"``). Every table states both.

Counts are in millions (people or SIMs); shares are fractions.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

CI_PROB = 0.90
CI_KIND = "ETI"
CI_KINDS = ("ETI", "HDI")

DECOMPOSITION_PARTS = ("unique_users", "extra_sims", "official_lines", "inactive_numbers")


@dataclass(frozen=True)
class Quantity:
    """A reported quantity: variable name in the posterior, optional date, units."""

    name: str
    variable: str
    date: str | None
    units: str


def headline_quantities(posterior: xr.Dataset, report_dates) -> list[Quantity]:
    """Headline quantities in report order (Feb 2012 and May 2013 first)."""
    first = ["2012-02-02", "2013-05-28"]
    dates = first + [d for d in (pd.Timestamp(x).strftime("%Y-%m-%d") for x in report_dates)
                     if d not in first]
    dates = [d for d in dates if np.datetime64(d) in posterior["date"].values]
    out = [Quantity("unique_users", "unique_users", d, "million people") for d in dates]
    out += [
        Quantity("penetration_10plus", "penetration_10plus", "2013-05-28", "fraction"),
        Quantity("penetration_addressable", "penetration_addressable", "2013-05-28", "fraction"),
        Quantity("sims_per_user", "sims_per_user", None, "SIMs per person"),
        Quantity("real_user_share", "real_user_share", None, "fraction"),
        Quantity("official_share", "official_share", None, "fraction"),
        Quantity("inactive_share", "inactive_share", None, "fraction"),
        Quantity("heavy_user_share", "heavy_user_share", None, "fraction"),
        Quantity("sims_per_heavy_user", "sims_per_heavy_user", None, "SIMs per person"),
        Quantity("user_ceiling", "user_ceiling", None, "million people"),
        Quantity("subscription_ceiling", "subscription_ceiling", None, "million SIMs"),
    ]
    out += [Quantity(f"decomposition_{p}", f"decomposition_{p}", "2013-05-28", "million SIMs")
            for p in DECOMPOSITION_PARTS if f"decomposition_{p}" in posterior]
    return out


def _draws(ds: xr.Dataset, q: Quantity) -> xr.DataArray:
    da = ds[q.variable]
    return da.sel(date=q.date) if q.date is not None and "date" in da.dims else da


def interval(draws: xr.DataArray, prob: float = CI_PROB, kind: str = CI_KIND) -> tuple:
    """(low, high) credible interval of ``kind`` ('ETI' or 'HDI') and mass ``prob``."""
    if kind not in CI_KINDS:
        raise ValueError(f"interval kind must be one of {CI_KINDS}, got {kind!r}")
    ds = draws.to_dataset(name="x")
    func = az.eti if kind == "ETI" else az.hdi
    bounds = func(ds, prob=prob)["x"].values
    return float(bounds[0]), float(bounds[1])


def supported_decimals(mcse: float, max_significant: int = 3, value: float = 1.0) -> int:
    """Decimal places that a Monte Carlo standard error supports.

    The last digit shown is the one whose unit is at least 2 * MCSE (so the rounding error
    and the Monte Carlo error are of one size), never more than ``max_significant``
    significant digits of ``value``.
    """
    if not math.isfinite(mcse) or mcse <= 0:
        return max(0, max_significant - 1 - int(math.floor(math.log10(abs(value) or 1))))
    decimals = -int(math.ceil(math.log10(2.0 * mcse)))
    if value:
        decimals = min(decimals, max_significant - 1 - int(math.floor(math.log10(abs(value)))))
    return decimals


def round_to(value: float, decimals: int) -> str:
    """``value`` rounded to ``decimals`` places (negative: tens, hundreds...), as text."""
    if decimals >= 0:
        return f"{value:.{decimals}f}"
    return f"{round(value, decimals):.0f}"


def summarise(idata, quantities: list[Quantity], prior: xr.Dataset | None = None,
              prob: float = CI_PROB, kind: str = CI_KIND) -> pd.DataFrame:
    """Tidy table: one row per quantity with raw numbers, interval, prior interval, R-hat..."""
    posterior = idata["posterior"].to_dataset() if hasattr(idata, "children") else idata
    rows = []
    for q in quantities:
        draws = _draws(posterior, q)
        ds = draws.to_dataset(name="x")
        low, high = interval(draws, prob, kind)
        p_low, p_high = (interval(_draws(prior, q).rename(None), prob, kind)
                         if prior is not None and q.variable in prior else (math.nan, math.nan))
        rows.append({
            "quantity": q.name, "date": q.date, "units": q.units,
            "median": float(draws.median()), "mean": float(draws.mean()),
            "sd": float(draws.std()),
            "ci_low": low, "ci_high": high, "ci_prob": prob, "ci_kind": kind,
            "prior_ci_low": p_low, "prior_ci_high": p_high,
            "r_hat": float(az.rhat(ds)["x"]),
            "ess_bulk": float(az.ess(ds, method="bulk")["x"]),
            "ess_tail": float(az.ess(ds, method="tail")["x"]),
            "mcse_median": float(az.mcse(ds, method="median")["x"]),
            "mcse_ci_low": float(az.mcse(ds, method="quantile", prob=(1 - prob) / 2)["x"]),
            "mcse_ci_high": float(az.mcse(ds, method="quantile", prob=(1 + prob) / 2)["x"]),
        })
    return pd.DataFrame(rows)


def probabilities(idata) -> pd.DataFrame:
    """Posterior probabilities that answer the article's doubts directly."""
    posterior = idata["posterior"].to_dataset()
    users = posterior["unique_users"].sel(date="2013-05-28")
    share = posterior["real_user_share"]
    claims = [
        ("P(unique users on 2013-05-28 < 1.5 million)", users < 1.5),
        ("P(unique users on 2013-05-28 < 1.0 million)", users < 1.0),
        ("P(real-user share U/S < 0.7)", share < 0.7),
        ("P(real-user share U/S < 0.5)", share < 0.5),
    ]
    rows = []
    for text, event in claims:
        p = float(event.mean())
        n_eff = float(az.ess(event.astype(float).to_dataset(name="x"))["x"])
        mcse = math.sqrt(max(p * (1 - p), 1e-12) / max(n_eff, 1.0)) if 0 < p < 1 else 0.0
        rows.append({"claim": text, "probability": p, "mcse": mcse})
    return pd.DataFrame(rows)


def formatted(table: pd.DataFrame) -> pd.DataFrame:
    """Human table: each number rounded to the digits its MCSE supports."""
    out = []
    for r in table.itertuples():
        d_med = supported_decimals(r.mcse_median, value=r.median)
        d_low = supported_decimals(r.mcse_ci_low, value=r.ci_low)
        d_high = supported_decimals(r.mcse_ci_high, value=r.ci_high)
        d_ci = min(d_low, d_high)
        prior = ("" if math.isnan(r.prior_ci_low) else
                 f"{_sig(r.prior_ci_low)} – {_sig(r.prior_ci_high)}")
        out.append({
            "quantity": r.quantity + (f" ({r.date})" if isinstance(r.date, str) else ""),
            "units": r.units,
            "median": round_to(r.median, d_med),
            f"{int(r.ci_prob * 100)}% {r.ci_kind}": f"{round_to(r.ci_low, d_ci)} – "
                                                   f"{round_to(r.ci_high, d_ci)}",
            f"prior {int(r.ci_prob * 100)}% {r.ci_kind}": prior,
            "R-hat": f"{r.r_hat:.3f}",
            "ESS bulk/tail": f"{r.ess_bulk:.0f} / {r.ess_tail:.0f}",
            "MCSE (median)": f"{r.mcse_median:.2g}",
        })
    return pd.DataFrame(out)


def _sig(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}g}" if abs(x) < 10 ** digits else f"{x:.0f}"


def markdown(table: pd.DataFrame, probs: pd.DataFrame, attrs: dict) -> str:
    """The Markdown report: headline table, probabilities, result sentence, footer."""
    human = formatted(table)
    lines = [f"# bayes_koryo report: {attrs.get('config_name', '?')}", ""]
    diag = json.loads(attrs.get("diagnostics_json", "{}") or "{}")
    if not diag.get("converged", False):
        lines += ["> **WARNING: this run did not pass the convergence checks; do not cite "
                  "its numbers.** " + "; ".join(diag.get("failures", [])[:5]), ""]
    head = list(human.columns)
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join("---" for _ in head) + "|")
    for row in human.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    lines += ["", "Counts in millions; shares as fractions. Intervals: "
              f"{int(table['ci_prob'].iloc[0] * 100)}% {table['ci_kind'].iloc[0]} "
              "(equal-tailed) of the posterior; prior intervals of the same kind and mass. "
              "Each number is rounded to the digits its Monte Carlo standard error supports.",
              "", "## Probabilities", ""]
    for p in probs.itertuples():
        lines.append(f"- {p.claim} = {p.probability:.2f} (MCSE {p.mcse:.2g})")
    lines += ["", "## Result sentence", "", result_sentence(table), "", "## Provenance", ""]
    for key in ("run_id", "config_name", "seed", "data_hash", "sampler_json",
                "versions_json", "diagnostics_json"):
        lines.append(f"- {key}: `{attrs.get(key, '')}`")
    return "\n".join(lines) + "\n"


def result_sentence(table: pd.DataFrame) -> str:
    """One sentence ready to paste, generated from the table."""
    row = table[(table["quantity"] == "unique_users") & (table["date"] == "2013-05-28")]
    share = table[table["quantity"] == "real_user_share"]
    if row.empty or share.empty:
        return ""
    r, s = row.iloc[0], share.iloc[0]
    d = min(supported_decimals(r.mcse_ci_low, value=r.ci_low),
            supported_decimals(r.mcse_ci_high, value=r.ci_high))
    ds = min(supported_decimals(s.mcse_ci_low, value=s.ci_low),
             supported_decimals(s.mcse_ci_high, value=s.ci_high))
    label = f"{int(r.ci_prob * 100)}% {r.ci_kind}"
    median = round_to(r["median"], supported_decimals(r.mcse_median, value=r["median"]))
    return (f"We estimate that {median} "
            f"million distinct people ({label} {round_to(r.ci_low, d)}–{round_to(r.ci_high, d)} "
            f"million) stood behind Koryolink's 2 million reported subscriptions in May 2013, "
            f"i.e. {round_to(s['median'], supported_decimals(s.mcse_median, value=s['median']))} "
            f"people per registered SIM ({label} {round_to(s.ci_low, ds)}–"
            f"{round_to(s.ci_high, ds)}).")
