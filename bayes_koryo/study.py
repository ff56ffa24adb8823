"""The study's definitions, in one place: every layer imports them from here.

- milestone dates of Koryolink's history and the dates the package reports on;
- the kinds of reported figure, in the one order configs and likelihood terms use;
- the headline quantities;
- the interval convention of every table (mass and kind);
- the production sampler settings and the package seed;
- the convergence gate a fit must pass before its numbers are cited.

Dates are ISO strings (``YYYY-MM-DD``) unless stated.
"""

from __future__ import annotations

import datetime as dt

# --------------------------------------------------------------------------- dates

KORYOLINK_LAUNCH = dt.date(2008, 12, 15)
"""Koryolink's commercial launch: no observation can refer to an earlier date."""
ONE_MILLION_DATE = "2012-02-02"
"""Date of the "1 million subscribers" statement (bundled data; the active numbers were 0.8M)."""
TWO_MILLION_DATE = "2013-05-28"
"""Date of the 2-million milestone: the headline date and the date the model decomposes."""
HEADLINE_DATES = (ONE_MILLION_DATE, TWO_MILLION_DATE)
"""Dates of the headline unique-user estimates (the 1M and 2M figures), in report order."""
DECOMPOSITION_DATE = TWO_MILLION_DATE
"""Date at which reported subscriptions are split into users, extra SIMs, official lines and
inactive numbers."""

# --------------------------------------------------------------------------- kinds of figure

QUANTITIES = ("subscribers", "active_numbers")
"""What a reported figure counts."""
KINDS = (
    "audited_quarterly",
    "rounded_report",
    "retrospective_statement",
    "milestone",
    "rounded_statement",
    "activity_statement",
)
"""Kinds of figure, in the order a model config lists them by default (the order of the
model's likelihood terms)."""
ACTIVE_KINDS = frozenset({"activity_statement"})
"""Kinds that report active numbers; every other kind reports subscribers."""

# --------------------------------------------------------------------------- headline quantities

HEADLINE_SCALARS = ("real_user_share", "sims_per_user", "user_ceiling")
"""Headline quantities without a date; with U(t) at ``HEADLINE_DATES`` they are what the
report leads with and what the convergence gate holds to ``ESS_HEADLINE_MIN``."""

DECOMPOSITION_PARTS = ("unique_users", "extra_sims", "official_lines", "inactive_numbers")
"""The parts the subscriptions at ``DECOMPOSITION_DATE`` are split into (millions of SIMs):
one SIM per user, the further SIMs of heavy users, official lines, inactive numbers."""

# --------------------------------------------------------------------------- intervals

CI_PROB = 0.90
"""Mass of every credible interval the package reports, unless the user asks for another."""
CI_KIND = "ETI"
"""Kind of every credible interval by default: equal-tailed (HDI on request)."""
CI_KINDS = ("ETI", "HDI")
KIND_NAMES = {"ETI": "equal-tailed interval", "HDI": "highest-density interval"}

# --------------------------------------------------------------------------- sampler

PACKAGE_SEED = 20131126
"""Default seed of a fit and master seed of SBC (fixed before any fit; not chosen for any
outcome)."""
PRODUCTION_DRAWS = {"draws": 2000, "tune": 1000, "chains": 4}
"""Production sampler settings: 4 chains of 2000 draws after 1000 warm-up draws. The model
configs default to them and SBC validates the inference at them. 2000 draws, not 1000: with
1000 the slowest-mixing coordinates (the early pace deviations, the access clock) reach a
bulk ESS of only ~500, and the largest R-hat of some 40 parameters then exceeds 1.01 in most
fits of the real data by noise alone (BENCHMARKS.md, "Production draws")."""

# --------------------------------------------------------------------------- convergence gate

RHAT_MAX = 1.01
"""Largest rank-normalised split R-hat of any parameter or headline quantity."""
ESS_HEADLINE_MIN = 1000
"""Smallest bulk and tail ESS of a headline quantity."""
ESS_OTHER_MIN = 400
"""Smallest bulk and tail ESS of any other parameter."""
EBFMI_MIN = 0.3
"""Smallest E-BFMI of any chain."""
