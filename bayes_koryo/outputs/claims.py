"""The article's doubts as probabilities, each with what it rests on.

``CLAIMS`` are yes/no questions about the estimands; ``probabilities(idata, prior, reported)``
answers each with its posterior probability, MCSE and prior probability, and says what the
answer rests on: the model's construction (``Claim.construction``), the priors (the
posterior probability lies within ``PRIOR_PROBABILITY_TOLERANCE`` of its prior reference: for
a claim on U, the equivalent event on U/S with S fixed at the reported count) or the data.
``probability_rows`` formats them for every report format.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import arviz_stats as azs
import pandas as pd
import xarray as xr

from bayes_koryo.outputs.digits import round_to, significant, supported_decimals
from bayes_koryo.outputs.quantities import phones_are_shared
from bayes_koryo.study import ONE_MILLION_DATE, TWO_MILLION_DATE


@dataclass(frozen=True)
class Claim:
    """A yes/no question about the estimands, answered by a posterior probability."""

    text: str
    variable: str
    date: str | None
    op: str  # "<" or ">"
    threshold: float
    construction: str = ""
    """Non-empty when the event holds by the model's construction given the data: the
    reason, printed instead of presenting the probability as a finding."""

    def event(self, ds: xr.Dataset) -> xr.DataArray:
        """Return, per draw of ``ds``, whether the claim holds (a boolean array)."""
        da = ds[self.variable]
        if self.date is not None:
            da = da.sel(date=self.date)
        return da < self.threshold if self.op == "<" else da > self.threshold


CLAIMS = (
    Claim(
        f"P(unique users on {TWO_MILLION_DATE} < 1.5 million)",
        "unique_users",
        TWO_MILLION_DATE,
        "<",
        1.5,
    ),
    Claim(
        f"P(unique users on {TWO_MILLION_DATE} < 1.0 million)",
        "unique_users",
        TWO_MILLION_DATE,
        "<",
        1.0,
    ),
    Claim(
        f"P(unique users on {ONE_MILLION_DATE} < 0.8 million, the active numbers then)",
        "unique_users",
        ONE_MILLION_DATE,
        "<",
        0.8,
        construction=(
            "every user holds at least one active SIM, so users never exceed the active "
            "numbers, which the 800k statement fixes near 0.8 million"
        ),
    ),
    Claim("P(real-user share U/S < 0.7)", "real_user_share", None, "<", 0.7),
    Claim("P(real-user share U/S < 0.5)", "real_user_share", None, "<", 0.5),
    Claim("P(official share of active lines > 0.25)", "official_share", None, ">", 0.25),
    Claim(
        f"P(users / population aged 10+ on {TWO_MILLION_DATE} < 0.10)",
        "penetration_10plus",
        TWO_MILLION_DATE,
        "<",
        0.10,
        construction=(
            "users never exceed the SIMs (every user holds at least one), and the reported "
            "SIMs are fewer than a tenth of the population aged 10+"
        ),
    ),
)
"""The article's doubts as probabilities (posterior, and prior for comparison)."""


def _probability(event: xr.DataArray) -> tuple[float, float, float]:
    """(probability, MCSE, number of draws) of a boolean (chain, draw) array."""
    p = float(event.mean())
    n = int(event.size)
    if 0 < p < 1:
        n_eff = float(
            azs.ess(event.astype(float).rename(None).to_dataset(name="x"), method="mean")["x"]
        )
        mcse = math.sqrt(p * (1 - p) / max(n_eff, 1.0))
    else:
        mcse = 0.0
    return p, mcse, n


PRIOR_PROBABILITY_TOLERANCE = 0.05
"""A claim's probability counts as prior-driven when it lies within this distance of its
prior reference probability (``probabilities``)."""

PROBABILITY_COLUMNS = (
    "claim",
    "probability",
    "mcse",
    "draws",
    "prior_probability",
    "prior_draws",
    "reference",
    "reference_probability",
    "basis",
)


def probabilities(
    idata, prior: xr.Dataset | None = None, reported: dict[str, float] | None = None
) -> pd.DataFrame:
    """Return the posterior probabilities of ``CLAIMS``, with their MCSE and what they rest on.

    With ``prior``, each row also has the prior probability of the same event and a prior
    reference: for a claim on U at a date with a reported subscriber count S (``reported``:
    ISO date -> millions), the prior probability of the equivalent event on U/S (U < t <=>
    U/S < t/S, with S fixed by the count); otherwise the prior probability of the event.
    ``basis``: "construction" (``Claim.construction``; never when phones are shared, where
    users may exceed SIMs), "prior" (within ``PRIOR_PROBABILITY_TOLERANCE`` of the reference)
    or "data".
    """
    posterior = idata["posterior"].to_dataset() if hasattr(idata, "children") else idata
    shared_phones = phones_are_shared(posterior)  # users may exceed SIMs: no construction
    rows = []
    for claim in CLAIMS:
        if claim.variable not in posterior:
            continue
        if shared_phones and claim.construction:
            claim = dataclasses.replace(claim, construction="")
        p, mcse, n = _probability(claim.event(posterior))
        prior_event = claim.event(prior) if prior is not None and claim.variable in prior else None
        prior_p = float(prior_event.mean()) if prior_event is not None else math.nan
        reference, ref_p = _prior_reference(claim, prior, reported or {}, prior_p)
        if claim.construction:
            basis = "construction"
        elif math.isfinite(ref_p):
            basis = "prior" if abs(p - ref_p) <= PRIOR_PROBABILITY_TOLERANCE else "data"
        else:
            basis = ""
        rows.append(
            {
                "claim": claim.text,
                "probability": p,
                "mcse": mcse,
                "draws": n,
                "prior_probability": prior_p,
                "prior_draws": int(prior_event.size) if prior_event is not None else 0,
                "reference": reference,
                "reference_probability": ref_p,
                "basis": basis,
            }
        )
    return pd.DataFrame(rows, columns=list(PROBABILITY_COLUMNS))


def _prior_reference(
    claim: Claim, prior: xr.Dataset | None, reported: dict[str, float], prior_p: float
) -> tuple[str, float]:
    """Return (description, prior probability) of a claim's prior reference event."""
    if claim.construction:
        return claim.construction, math.nan
    if prior is None:
        return "", math.nan
    count = reported.get(claim.date or "")
    if claim.variable == "unique_users" and count and "real_user_share" in prior:
        ratio = claim.threshold / count
        share = prior["real_user_share"]
        event = share < ratio if claim.op == "<" else share > ratio
        return (
            f"U/S {claim.op} {ratio:.2f} (S fixed at the reported {count:.3g} million)",
            float(event.mean()),
        )
    return "the same event", prior_p


def reported_counts(observations: pd.DataFrame) -> dict[str, float]:
    """Return the largest reported subscriber count per date (ISO date -> millions)."""
    rows = observations[observations["quantity"] == "subscribers"]
    return {
        pd.Timestamp(d).strftime("%Y-%m-%d"): float(v) / 1e6
        for d, v in rows.groupby("date")["value"].max().items()
    }


def format_probability(p: float, mcse: float, draws: int) -> str:
    """Format a probability with the digits its MCSE supports; 0 and 1 as bounds ('> 0.9997')."""
    if not math.isfinite(p):
        return ""
    if p >= 1.0:  # every draw agrees: only a bound is supported
        return f"> {math.floor((1 - 1 / draws) * 1000) / 1000:.3f}"
    if p <= 0.0:
        return f"< {math.ceil(1000 / draws) / 1000:.3f}"
    decimals = max(supported_decimals(mcse, max_significant=3, value=p), 2)
    shown = round(p, decimals)
    if shown >= 1.0:  # e.g. 0.998 at 2 decimals: "1.00" would read as certainty
        return f"> {1 - 10.0**-decimals:.{decimals}f}"
    if shown <= 0.0:
        return f"< {10.0**-decimals:.{decimals}f}"
    return round_to(p, decimals)


def probability_rows(probs: pd.DataFrame) -> list[tuple[str, str, str, str, str]]:
    """(claim, posterior probability, MCSE, prior probability, rests on) as text (every format)."""
    rows = []
    for p in probs.itertuples():
        prior = (
            ""
            if not math.isfinite(p.prior_probability)
            else format_probability(
                p.prior_probability, _binomial_se(p.prior_probability, p.prior_draws), p.prior_draws
            )
        )
        rows.append(
            (
                p.claim,
                format_probability(p.probability, p.mcse, p.draws),
                significant(p.mcse) if p.mcse > 0 else "n/a (all draws agree)",
                prior,
                basis_text(
                    getattr(p, "basis", ""),
                    getattr(p, "reference", ""),
                    getattr(p, "reference_probability", math.nan),
                    p.prior_draws,
                ),
            )
        )
    return rows


def basis_text(basis: str, reference: str, reference_probability: float, draws: int) -> str:
    """Say what a claim's probability rests on (``probabilities``' basis), in words."""
    if basis == "construction":
        return f"holds by construction: {reference}"
    if not math.isfinite(reference_probability):
        return ""
    ref = format_probability(
        reference_probability, _binomial_se(reference_probability, draws), draws
    )
    return (
        f"the {'priors' if basis == 'prior' else 'data'}: prior probability of {reference} is {ref}"
    )


def _binomial_se(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n) if n and 0 < p < 1 else 0.0


PROBABILITY_HEADER = ("claim", "posterior probability", "MCSE", "prior probability", "rests on")


__all__ = [
    "CLAIMS",
    "PRIOR_PROBABILITY_TOLERANCE",
    "PROBABILITY_COLUMNS",
    "PROBABILITY_HEADER",
    "Claim",
    "basis_text",
    "format_probability",
    "probabilities",
    "probability_rows",
    "reported_counts",
]
