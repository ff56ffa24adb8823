"""What a report's numbers rest on: power-scaling evidence and the structural range.

``with_sensitivity`` adds to a report table each quantity's power-scaling sensitivity to the
priors and to the likelihood, its most influential group of priors and its evidence label
(``bayes_koryo.inference.prior_sensitivity``); ``read_structural_range`` /
``with_structural_range`` add the range of the declared model variants (written by
``bayes-koryo sensitivity``) beside each headline interval; ``sensitivity_methods`` and
``structural_methods`` are the methods paragraph's sentences on both.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import xarray as xr

from bayes_koryo.inference.summaries import interval_label
from bayes_koryo.outputs.quantities import Quantity, quantity_draws

SENSITIVITY_COLUMNS = {
    "prior_sensitivity": "prior_sensitivity",
    "likelihood_sensitivity": "likelihood_sensitivity",
    "most_influential_prior": "most_influential_prior",
    "evidence": "evidence",
    "sensitivity_pareto_k": "max_pareto_k",
}
"""Report column -> column of ``prior_group_sensitivity``."""


def with_sensitivity(table: pd.DataFrame, model, quantities: list[Quantity]) -> pd.DataFrame:
    """Return ``table`` with each quantity's power-scaling sensitivities and evidence label.

    ``bayes_koryo.inference.prior_sensitivity.prior_group_sensitivity`` of the report's own
    quantities; a run without log densities gets NaN and "not measured".
    """
    from bayes_koryo.inference.prior_sensitivity import (
        has_log_densities,
        label,
        prior_group_sensitivity,
    )

    table = table.copy()
    if not has_log_densities(model.idata):
        table[["prior_sensitivity", "likelihood_sensitivity", "sensitivity_pareto_k"]] = math.nan
        table[["most_influential_prior", "evidence"]] = "not measured"
        return table
    posterior = model.idata["posterior"].to_dataset()
    names = [label(q.variable, q.date) for q in quantities]
    draws = xr.Dataset(
        {
            n: quantity_draws(posterior, q).drop_vars("date", errors="ignore")
            for n, q in zip(names, quantities, strict=True)
        }
    )
    sens = prior_group_sensitivity(model, draws).set_index("quantity")
    for column, source in SENSITIVITY_COLUMNS.items():
        table[column] = [sens.loc[n, source] for n in names]
    return table


STRUCTURAL_FIELDS = (
    "structural_low",
    "structural_high",
    "structural_variants",
    "structural_driver",
)


def read_structural_range(path) -> pd.DataFrame:
    """Read structural_range.json (written by ``bayes-koryo sensitivity``); meta in ``.attrs``.

    ConfigError naming the file on a missing file, invalid JSON or a row without a field the
    report needs.
    """
    from pathlib import Path

    from bayes_koryo.errors import ConfigError

    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such structural-range file") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: invalid JSON: {exc}") from None
    need = (
        "variable",
        "date",
        "structural_low",
        "structural_high",
        "variants",
        "largest_shift_variant",
        "ci_prob",
        "ci_kind",
        "data_hash",
    )
    rows = doc.get("rows") if isinstance(doc, dict) else None
    if not isinstance(rows, list) or not rows:
        raise ConfigError(f"{path}: expected {{'meta': ..., 'rows': [...]}} with rows")
    for i, row in enumerate(rows, start=1):
        missing = [k for k in need if k not in row]
        if missing:
            raise ConfigError(f"{path}: row {i}: missing field(s) {', '.join(missing)}")
    table = pd.DataFrame(rows)
    table.attrs["meta"] = {**doc.get("meta", {}), "path": str(path)}
    return table


def with_structural_range(
    table: pd.DataFrame, structural: pd.DataFrame, data_hash: str
) -> pd.DataFrame:
    """Return ``table`` with the structural range of each quantity ``structural`` covers.

    ConfigError when the variants were fitted on other data than the run (``data_hash``).
    """
    from bayes_koryo.errors import ConfigError

    where = structural.attrs.get("meta", {}).get("path", "structural range")
    theirs = set(structural["data_hash"])
    if theirs != {data_hash}:
        raise ConfigError(
            f"{where}: its variants "
            f"were fitted on data {', '.join(sorted(h[:12] for h in theirs))}, this run on "
            f"{data_hash[:12]}: refit them (bayes-koryo sensitivity) or leave it out"
        )
    kinds = {
        (float(p), str(k))
        for p, k in zip(structural["ci_prob"], structural["ci_kind"], strict=True)
    }
    mine = {(float(p), str(k)) for p, k in zip(table["ci_prob"], table["ci_kind"], strict=True)}
    if kinds != mine:
        raise ConfigError(
            f"{where}: its intervals are {', '.join(interval_label(p, k) for p, k in kinds)}, "
            f"the report's {', '.join(interval_label(p, k) for p, k in mine)}: report with "
            "the same interval or refit the variants"
        )
    table = table.copy()
    for column in STRUCTURAL_FIELDS:
        table[column] = math.nan if column != "structural_driver" else ""
    table["structural_driver"] = table["structural_driver"].astype(object)
    for row in structural.itertuples():
        date = row.date if isinstance(row.date, str) else None
        hit = (table["quantity"] == row.variable) & (
            (table["date"] == date) if date else table["date"].isna()
        )
        table.loc[hit, "structural_low"] = float(row.structural_low)
        table.loc[hit, "structural_high"] = float(row.structural_high)
        table.loc[hit, "structural_variants"] = int(row.variants)
        table.loc[hit, "structural_driver"] = str(row.largest_shift_variant)
    return table


def sensitivity_methods(table: pd.DataFrame) -> str:
    """Return the methods sentences on power-scaling ("" if the run had no log densities)."""
    from bayes_koryo.inference.prior_sensitivity import PSENSE_THRESHOLD

    if "evidence" not in table or not table["prior_sensitivity"].notna().any():
        return ""
    names = [
        q + (f" ({d})" if isinstance(d, str) else "")
        for q, d in zip(table["quantity"], table["date"], strict=True)
    ]
    groups = {
        label: [n for n, e in zip(names, table["evidence"], strict=True) if e == label]
        for label in ("prior-driven", "prior-data conflict", "data-driven")
    }
    counts = "; ".join(
        f"{len(v)} {k}" + (f" ({', '.join(v)})" if len(v) <= 4 else "")
        for k, v in groups.items()
        if v
    )
    khat = float(table["sensitivity_pareto_k"].max())
    return (
        f" We measured how much each reported quantity rests on the priors by power-scaling "
        f"(arviz_stats.psense; Kallioinen et al. 2024, Stat Comput 34:57): a quantity is "
        f"prior-driven when its sensitivity to the priors reaches {PSENSE_THRESHOLD:g} and "
        f"that to the likelihood does not, in prior-data conflict when both do, and "
        f"data-driven when its sensitivity to the priors stays below {PSENSE_THRESHOLD:g}. "
        f"Of the {len(table)} reported quantities: {counts}. The largest Pareto k of the "
        f"importance weights behind the scaled priors was {khat:.2f} (reliable below 0.7)."
    )


def structural_methods(attrs: dict, label: str) -> str:
    """Return the methods sentence on the structural range ("" without one).

    ``attrs``: the report's attributes; ``label``: its interval label (e.g. "90% ETI").
    """
    meta = json.loads(attrs.get("structural_range_json", "null") or "null")
    if not meta:
        return ""
    declared = meta.get("declared", [])
    return (
        f" Beside each headline interval we give its structural range: the union of the "
        f"{label}s of the {len(declared)} declared model "
        f"variants ({', '.join(declared)}) that passed the convergence gate, fitted with the "
        f"same data and settings (bayes_koryo {meta.get('package_version', '?')}); a union, "
        f"not a mixture, because no weights of the variants are known."
    )


__all__ = [
    "SENSITIVITY_COLUMNS",
    "STRUCTURAL_FIELDS",
    "read_structural_range",
    "sensitivity_methods",
    "structural_methods",
    "with_sensitivity",
    "with_structural_range",
]
