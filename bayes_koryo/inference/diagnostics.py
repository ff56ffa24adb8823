"""Convergence diagnostics and the thresholds a cited number must pass.

The thresholds (Vehtari et al. 2021): rank-normalised R-hat ≤ 1.01, bulk and tail ESS ≥ 1000
for headline quantities and ≥ 400 for the rest, 0 divergences after warm-up, E-BFMI ≥ 0.3, no
draw at the maximum tree depth.

``diagnose(idata, config)`` returns a tidy table (one row per scalar quantity checked) and a
summary; ``Diagnostics.messages`` lists what misses a threshold, as sentences.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import arviz_stats as azs
import numpy as np
import pandas as pd
import xarray as xr

from bayes_koryo.model.config import ModelConfig
from bayes_koryo.model.graph import PACE_VECTORS, free_parameters
from bayes_koryo.study import (
    EBFMI_MIN,
    ESS_HEADLINE_MIN,
    ESS_OTHER_MIN,
    HEADLINE_DATES,
    HEADLINE_SCALARS,
    RHAT_MAX,
)

CHECK_OF_STATISTIC = {
    "diverging": "divergences",
    "maxdepth_reached": "tree-depth saturation",
    "energy": "E-BFMI",
}

VECTOR_PARAMETERS = PACE_VECTORS
"""Free vector parameters; the diagnostics table shows their worst element."""


def headline_draws(posterior: xr.Dataset) -> dict[str, xr.DataArray]:
    """Return the headline quantities as named (chain, draw) arrays."""
    out = {
        f"unique_users[{d}]": posterior["unique_users"].sel(date=d)
        for d in HEADLINE_DATES
        if np.datetime64(d) in posterior["date"].values
    }
    out.update({name: posterior[name] for name in HEADLINE_SCALARS})
    return out


SAMPLER_STATISTICS = ("diverging", "maxdepth_reached", "energy")
"""Sampler statistics the checks need (divergences, tree-depth saturation, E-BFMI). A run
whose ``sample_stats`` lacks one cannot show that its check passed: the check is reported as
not measured and counts as failed."""


@dataclass
class Diagnostics:
    """Per-quantity R-hat/ESS table plus sampler-level checks.

    ``divergences`` and ``max_treedepth_hits`` are None, and ``ebfmi`` is empty, when the
    sampler statistic behind them is missing (listed in ``not_measured``; each such check
    fails).
    """

    table: pd.DataFrame
    divergences: int | None
    max_treedepth_hits: int | None
    ebfmi: list[float]
    messages: list[str] = field(default_factory=list)
    not_measured: list[str] = field(default_factory=list)

    @property
    def converged(self) -> bool:
        """True when every check passed (no failure message)."""
        return not self.messages

    @property
    def short_of_draws_only(self) -> bool:
        """True when every failed check is an effective-sample-size minimum.

        The chains then agree and the sampler is healthy, so more draws (not a new model) fix
        the run.
        """
        return bool(self.messages) and all(" ess-" in m for m in self.messages)

    def summary(self) -> dict:
        """Plain-data summary (JSON-ready; a statistic that was not measured is None)."""
        return {
            "converged": self.converged,
            "divergences": self.divergences,
            "max_treedepth_hits": self.max_treedepth_hits,
            "min_ebfmi": float(min(self.ebfmi)) if self.ebfmi else None,
            "max_r_hat": float(self.table["r_hat"].max()),
            "min_ess_bulk": float(self.table["ess_bulk"].min()),
            "min_ess_tail": float(self.table["ess_tail"].min()),
            "not_measured": list(self.not_measured),
            "failures": list(self.messages),
        }


def _row(name: str, draws: xr.DataArray, headline: bool) -> dict:
    ds = draws.to_dataset(name="x")
    return {
        "quantity": name,
        "headline": headline,
        "r_hat": float(azs.rhat(ds)["x"]),
        "ess_bulk": float(azs.ess(ds, method="bulk")["x"]),
        "ess_tail": float(azs.ess(ds, method="tail")["x"]),
    }


def diagnose(idata, config: ModelConfig) -> Diagnostics:
    """Check a fitted run against the thresholds of this module.

    Every free parameter, the worst element of each free vector parameter and every headline
    quantity get a row of R-hat and bulk / tail ESS; the sampler statistics give the
    divergence, tree-depth and E-BFMI checks.
    """
    posterior = idata["posterior"].to_dataset()
    rows = [_row(name, draws, True) for name, draws in headline_draws(posterior).items()]
    for name in free_parameters(config):
        rows.append(_row(name, posterior[name], False))
    for name in VECTOR_PARAMETERS:
        ds = posterior[name].to_dataset(name="x")
        rows.append(
            {
                "quantity": f"{name} (worst element)",
                "headline": False,
                "r_hat": float(np.max(azs.rhat(ds)["x"].values)),
                "ess_bulk": float(np.min(azs.ess(ds, method="bulk")["x"].values)),
                "ess_tail": float(np.min(azs.ess(ds, method="tail")["x"].values)),
            }
        )
    table = pd.DataFrame(rows)
    table["ess_required"] = np.where(table["headline"], ESS_HEADLINE_MIN, ESS_OTHER_MIN)

    stats = idata["sample_stats"].to_dataset() if "sample_stats" in idata.children else xr.Dataset()
    not_measured = [name for name in SAMPLER_STATISTICS if name not in stats]
    divergences = int(stats["diverging"].sum()) if "diverging" in stats else None
    depth_hits = int(stats["maxdepth_reached"].sum()) if "maxdepth_reached" in stats else None
    ebfmi = (
        [float(v) for v in np.atleast_1d(azs.bfmi(stats)["energy"].values)]
        if "energy" in stats
        else []
    )

    messages = [
        f"sampler statistic '{name}' is missing: {CHECK_OF_STATISTIC[name]} not "
        "measured (required: measured)"
        for name in not_measured
    ]
    if divergences:
        messages.append(f"{divergences} divergent transitions after warm-up (required: 0)")
    if depth_hits:
        messages.append(f"{depth_hits} draws hit the maximum tree depth (required: 0)")
    low = [e for e in ebfmi if e < EBFMI_MIN]
    if low:
        messages.append(f"E-BFMI {min(low):.2f} below {EBFMI_MIN} in {len(low)} chain(s)")
    for row in table.itertuples():
        if not row.r_hat <= RHAT_MAX:
            messages.append(f"{row.quantity}: R-hat {row.r_hat:.3f} > {RHAT_MAX}")
        for kind in ("ess_bulk", "ess_tail"):
            value = getattr(row, kind)
            if not value >= row.ess_required:
                messages.append(
                    f"{row.quantity}: {kind.replace('_', '-')} {value:.0f} < {row.ess_required}"
                )
    return Diagnostics(table, divergences, depth_hits, ebfmi, messages, not_measured)


RANK_TEST_ALPHA = 0.01
"""Level at which ArviZ's multi-chain rank-uniformity test is reported as rejecting."""


def rank_uniformity(posterior: xr.Dataset, names) -> pd.DataFrame:
    """Return ArviZ's multi-chain rank-uniformity p-value of each scalar quantity in ``names``.

    The test (``mchain_uniformity_test``, method ``mtc_c``, which allows for autocorrelation;
    the p-values of ArviZ's rank plot) asks whether each chain's ranks among all draws are
    uniform, i.e. whether the chains sampled the same distribution. It can reject where R-hat
    passes: a small p-value says chains still disagree in where they put their mass. It is
    reported beside the convergence gate, not part of it. Columns: ``quantity``, ``p_value``,
    ``rejects`` (p < ``RANK_TEST_ALPHA``).
    """
    dims = ["chain", "draw"]
    ranks = posterior[list(names)].azstats.compute_ranks(dim=dims, relative=True)
    p_values, _, _ = ranks.azstats.mchain_uniformity_test(dim=dims)
    rows = [(name, float(p_values[name])) for name in names]
    table = pd.DataFrame(rows, columns=["quantity", "p_value"])
    table["rejects"] = table["p_value"] < RANK_TEST_ALPHA
    return table
