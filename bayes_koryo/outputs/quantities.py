"""The quantities a report shows: variable, date and units of each, in report order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from bayes_koryo.study import (
    DECOMPOSITION_DATE,
    DECOMPOSITION_PARTS,
    HEADLINE_DATES,
    TWO_MILLION_DATE,
)


@dataclass(frozen=True)
class Quantity:
    """A reported quantity: variable name in the posterior, optional date, units."""

    name: str
    variable: str
    date: str | None
    units: str


def phones_are_shared(draws: xr.Dataset) -> bool:
    """Return True for draws of a shared-phones fit (``[structure] shared_phones``).

    Users are then the private SIM holders times h and may exceed SIMs. Such a model, and only
    such a model, has the variable ``users_per_holder``.
    """
    return "users_per_holder" in draws


EARLY_SHARES = ("early_heavy_user_share", "early_official_share")
"""The early cohort's own shares in an access-cohorts fit (``[structure] composition``)."""


def composition_changes(draws: xr.Dataset) -> bool:
    """Return True for draws of an access-cohorts fit, whose U/S changes over time.

    Such a model, and only such a model, has the variable ``real_user_share_by_date``; its
    ``sims_per_user`` and ``real_user_share`` are then those of the 2M milestone.
    """
    return "real_user_share_by_date" in draws


def headline_quantities(posterior: xr.Dataset, report_dates) -> list[Quantity]:
    """Headline quantities in report order (Feb 2012 and May 2013 first)."""
    first = list(HEADLINE_DATES)
    dates = first + [
        d for d in (pd.Timestamp(x).strftime("%Y-%m-%d") for x in report_dates) if d not in first
    ]
    dates = [d for d in dates if np.datetime64(d) in posterior["date"].values]
    out = [Quantity("unique_users", "unique_users", d, "million people") for d in dates]
    out += [
        Quantity("penetration_10plus", "penetration_10plus", TWO_MILLION_DATE, "fraction"),
        Quantity(
            "penetration_addressable", "penetration_addressable", TWO_MILLION_DATE, "fraction"
        ),
        Quantity("sims_per_user", "sims_per_user", None, "SIMs per person"),
        Quantity("real_user_share", "real_user_share", None, "fraction"),
        Quantity("official_share", "official_share", None, "fraction"),
        Quantity("inactive_share", "inactive_share", None, "fraction"),
        Quantity("heavy_user_share", "heavy_user_share", None, "fraction"),
        Quantity("sims_per_heavy_user", "sims_per_heavy_user", None, "SIMs per person"),
        Quantity("user_ceiling", "user_ceiling", None, "million people"),
        Quantity("subscription_ceiling", "subscription_ceiling", None, "million SIMs"),
    ]
    if phones_are_shared(posterior):
        out.append(Quantity("users_per_holder", "users_per_holder", None, "people per SIM holder"))
    if composition_changes(posterior):  # U/S at every report date; the early cohort's shares
        out += [
            Quantity("real_user_share_by_date", "real_user_share_by_date", d, "fraction")
            for d in dates
        ]
        out += [Quantity(n, n, None, "fraction") for n in EARLY_SHARES]
    out += [
        Quantity(f"decomposition_{p}", f"decomposition_{p}", DECOMPOSITION_DATE, "million SIMs")
        for p in DECOMPOSITION_PARTS
        if f"decomposition_{p}" in posterior
    ]
    return out


def quantity_draws(ds: xr.Dataset, q: Quantity) -> xr.DataArray:
    """Return the draws of ``q`` in ``ds`` (its variable, at its date when it has one)."""
    da = ds[q.variable]
    return da.sel(date=q.date) if q.date is not None and "date" in da.dims else da


__all__ = [
    "EARLY_SHARES",
    "Quantity",
    "composition_changes",
    "headline_quantities",
    "quantity_draws",
]
