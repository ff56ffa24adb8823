"""Load the Koryolink network facts 2009-2011 (``koryolink_network_2009_2011.csv``), validated.

``bayes_koryo.model.graph`` reads the population coverage figures as knots of the model's
coverage path; :func:`bayes_koryo.data.coverage_hash` fingerprints them for every run.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_koryo.data.cells import (
    date_array,
    parse_count,
    parse_date,
    parse_number,
    require,
    string_series,
)
from bayes_koryo.data.reader import read_table
from bayes_koryo.data.schema import NETWORK_COLUMNS, NETWORK_FILE, NETWORK_NUMBERS
from bayes_koryo.errors import DataValidationError


def load_network(path: str | Path | None = None) -> pd.DataFrame:
    """Load Koryolink network facts (2009-2011); ``None`` reads the bundled file.

    Columns: ``date`` datetime64[ns] (unique, sorted), ``base_stations`` (whole count),
    ``population_coverage`` (in (0, 1]), ``monthly_arpu_usd`` and ``minutes_of_use``
    (positive), all float64 with NaN when blank, and ``source_note`` (required string).
    Every row needs at least one number. Errors as in :func:`load_observations`.
    """
    table = read_table(path, NETWORK_FILE, NETWORK_COLUMNS, ())
    file = table.file
    data: dict[str, list] = {c: [] for c in NETWORK_COLUMNS}
    seen: dict[dt.date, int] = {}
    for row, cells in table.rows:
        date = parse_date(file, row, "date", require(file, row, "date", cells["date"], "date"))
        if date in seen:
            raise DataValidationError(
                file, f"date {date.isoformat()} already given in row {seen[date]}", row, "date"
            )
        seen[date] = row
        data["date"].append(date)
        for column in NETWORK_NUMBERS:
            data[column].append(_parse_figure(file, row, column, cells[column]))
        if all(math.isnan(data[c][-1]) for c in NETWORK_NUMBERS):
            raise DataValidationError(file, "row has no numbers", row, NETWORK_NUMBERS[0])
        data["source_note"].append(
            require(file, row, "source_note", cells["source_note"], "source note")
        )
    df = pd.DataFrame(
        {
            "date": date_array(data["date"]),
            **{c: np.array(data[c], dtype="float64") for c in NETWORK_NUMBERS},
            "source_note": string_series(data["source_note"]),
        },
        columns=list(NETWORK_COLUMNS),
    )
    df = df.sort_values("date", kind="mergesort").reset_index(drop=True)
    df.attrs["source_file"] = file
    return df


def _parse_figure(file: str, row: int, column: str, cell: str) -> float:
    """Parse one network figure: NaN when blank, else positive (coverage a share in (0, 1])."""
    if not cell:
        return math.nan
    if column == "base_stations":
        return parse_count(file, row, column, cell)
    number = parse_number(file, row, column, cell)
    if number <= 0:
        raise DataValidationError(file, f"must be positive, got {cell}", row, column)
    if column == "population_coverage" and number > 1:
        raise DataValidationError(file, f"coverage is a share in (0, 1], got {cell}", row, column)
    return number
