"""Load and validate the bundled data: reported Koryolink counts, DPRK demography, network facts.

Observations (``koryolink_reported_2008_2013.csv``), one row per published figure:

========  ========  ===========================================================
column    required  meaning
========  ========  ===========================================================
date      yes       ISO ``YYYY-MM-DD``: the date the count refers to
value     yes       the count, a positive whole number (no thousands separators)
quantity  yes       ``subscribers`` (SIM cards / numbers on the books) or
                    ``active_numbers`` (numbers that showed traffic)
kind      yes       how the figure was published (see below)
lower     no        smallest true count consistent with the statement (blank: none)
upper     no        largest true count consistent with the statement (blank: none)
source    yes       who published it, and through which outlet
url       no        where the figure can be checked
note      no        free text
========  ========  ===========================================================

All counts are numbers of SIM cards / phone numbers, not of people. Kinds:

* ``audited_quarterly`` - exact count from an Orascom quarterly release (no bounds);
* ``rounded_report`` - a rounded figure from a release ("over 809,000");
* ``rounded_statement`` - a rounded figure said by an executive ("more than 1.5 million");
* ``retrospective_statement`` - a round figure stated long after the date it refers to;
* ``milestone`` - a threshold announced when it was crossed ("reaches two million");
* ``activity_statement`` - the number of active numbers (only with ``active_numbers``).

``lower``/``upper`` bound the interval of true counts consistent with a rounded statement
or milestone; they are optional, and ``lower <= value <= upper`` with ``lower < upper``.

Row numbers in error messages are line numbers in the file: the header is row 1, the
first data row is row 2 (a quoted field spanning lines counts from the line it starts on).
Surrounding whitespace in cells is ignored; nothing else is coerced: every problem raises
:class:`~bayes_koryo.errors.DataValidationError` naming the file, row and column.

Files must be UTF-8 (a BOM is allowed) and at most :data:`MAX_FILE_BYTES` bytes and
:data:`MAX_DATA_ROWS` data rows; both limits are checked while reading, so a huge or endless
input is refused without being read into memory. Observation dates may not precede the
network's launch (:data:`KORYOLINK_LAUNCH`); the model's horizon is checked where config and
data meet (``bayes_koryo.model.graph.observation_blocks``), which needs the row numbers kept in
``df.attrs["source_rows"]``.

Modules: ``schema`` (file names, columns, limits), ``reader`` (the defensive CSV reading),
``cells`` (cell parsers), ``observations``, ``demography`` and ``network`` (one loader per
file), ``frames`` (checks and derived tables of a loaded observations frame). Import from
``bayes_koryo.data`` itself, which re-exports every public name (``__all__``).
"""

from __future__ import annotations

import hashlib

from bayes_koryo.data.demography import demography_value, load_demography
from bayes_koryo.data.frames import (
    active_share_observation,
    check_observation_frame,
    data_hash,
    source_row,
)
from bayes_koryo.data.network import load_network
from bayes_koryo.data.observations import load_observations
from bayes_koryo.data.schema import (
    DEMOGRAPHY_COLUMNS,
    DEMOGRAPHY_FILE,
    MAX_DATA_ROWS,
    MAX_FILE_BYTES,
    NETWORK_COLUMNS,
    NETWORK_FILE,
    OBSERVATION_COLUMNS,
    OBSERVATIONS_FILE,
)

# re-exported: the data layer's vocabulary
from bayes_koryo.study import (
    ACTIVE_KINDS,
    HEADLINE_DATES,
    KINDS,
    KORYOLINK_LAUNCH,
    ONE_MILLION_DATE,
    QUANTITIES,
    TWO_MILLION_DATE,
)

__all__ = [
    "ACTIVE_KINDS",
    "DEMOGRAPHY_COLUMNS",
    "DEMOGRAPHY_FILE",
    "HEADLINE_DATES",
    "KINDS",
    "KORYOLINK_LAUNCH",
    "MAX_DATA_ROWS",
    "MAX_FILE_BYTES",
    "NETWORK_COLUMNS",
    "NETWORK_FILE",
    "OBSERVATIONS_FILE",
    "OBSERVATION_COLUMNS",
    "ONE_MILLION_DATE",
    "QUANTITIES",
    "TWO_MILLION_DATE",
    "active_share_observation",
    "check_observation_frame",
    "coverage_hash",
    "data_hash",
    "demography_value",
    "load_demography",
    "load_network",
    "load_observations",
    "source_row",
]


def coverage_hash() -> str:
    """Return the SHA-256 (hex) of the coverage figures the model reads from the network file.

    The reported population coverage (dates and values) of the bundled network file: part of
    every run id, checked when a run is loaded. Defined here, not in ``network``, because it
    reads the network through this package's ``load_network`` (as ``bayes_koryo.model.graph``
    does), so that the two always see the same figures, a substituted loader included.
    """
    reported = load_network().dropna(subset=["population_coverage"])
    text = "\n".join(
        f"{d:%Y-%m-%d},{v!r}"
        for d, v in zip(
            reported["date"], reported["population_coverage"].astype(float), strict=True
        )
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
