"""The schema of the bundled data files: their names, columns, required columns and size limits.

The meaning of every column is documented in the package docstring (``bayes_koryo.data``) and
in ``bayes_koryo/data/README.md``; the kinds and quantities of a reported figure are the
study's vocabulary (``bayes_koryo.study``).
"""

from __future__ import annotations

DATA_PACKAGE = "bayes_koryo.data"
"""Package whose resources are the bundled CSV files (``importlib.resources``)."""

OBSERVATIONS_FILE = "koryolink_reported_2008_2013.csv"
DEMOGRAPHY_FILE = "dprk_demography.csv"
NETWORK_FILE = "koryolink_network_2009_2011.csv"

OBSERVATION_COLUMNS = (
    "date",
    "value",
    "quantity",
    "kind",
    "lower",
    "upper",
    "source",
    "url",
    "note",
)
OBSERVATION_REQUIRED = ("date", "value", "quantity", "kind", "source")
"""Columns an observations file must have (the others may be left out)."""

DEMOGRAPHY_COLUMNS = ("quantity", "value", "date", "source", "url", "note")
DEMOGRAPHY_REQUIRED = ("quantity", "value", "date", "source")
"""Columns a demography file must have (``url`` and ``note`` may be left out)."""

NETWORK_COLUMNS = (
    "date",
    "base_stations",
    "population_coverage",
    "monthly_arpu_usd",
    "minutes_of_use",
    "source_note",
)
NETWORK_NUMBERS = NETWORK_COLUMNS[1:5]
"""Numeric columns of the network file (each may be blank, but not all in one row)."""

#: Largest data file read (bytes); the bundled files are a few kB.
MAX_FILE_BYTES = 5_000_000
#: Most data rows accepted in one file (the bundled observations have about 20).
MAX_DATA_ROWS = 10_000
