"""Load the DPRK demographic reference figures (``dprk_demography.csv``), validating every cell."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_koryo.data.cells import parse_date, parse_number, require, show, string_series
from bayes_koryo.data.reader import read_table
from bayes_koryo.data.schema import DEMOGRAPHY_FILE, DEMOGRAPHY_REQUIRED
from bayes_koryo.errors import DataValidationError

_PARTIAL_DATE = re.compile(r"[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?")
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


def load_demography(path: str | Path | None = None) -> pd.DataFrame:
    """Load DPRK demographic reference figures; ``None`` reads the bundled file.

    Returns a frame indexed by ``quantity`` (unique lower-case identifiers) with columns
    ``value`` float64 (positive; quantities with a ``share`` part lie in (0, 1)), ``date``
    (a string ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``), ``source``, ``url``, ``note``.
    Errors are reported as in :func:`load_observations`.
    """
    table = read_table(path, DEMOGRAPHY_FILE, DEMOGRAPHY_REQUIRED, ("url", "note"))
    file = table.file
    seen: dict[str, int] = {}
    quantities, values, dates = [], [], []
    for row, cells in table.rows:
        quantity = _parse_quantity(file, row, cells["quantity"], seen)
        seen[quantity] = row
        value = _parse_value(file, row, quantity, cells["value"])
        date = _parse_partial_date(file, row, cells["date"])
        require(file, row, "source", cells["source"], "source")
        quantities.append(quantity)
        values.append(value)
        dates.append(date)
    df = pd.DataFrame(
        {
            "value": np.array(values, dtype="float64"),
            "date": string_series(dates),
            "source": string_series([c["source"] for _, c in table.rows]),
            "url": string_series([c["url"] for _, c in table.rows]),
            "note": string_series([c["note"] for _, c in table.rows]),
        }
    )
    df.index = pd.Index(quantities, name="quantity", dtype=str)
    df.attrs["source_file"] = file
    return df


def _parse_quantity(file: str, row: int, cell: str, seen: dict[str, int]) -> str:
    """Parse a quantity name: a lower-case identifier not in ``seen`` (name -> its row)."""
    quantity = require(file, row, "quantity", cell, "quantity")
    if not _IDENTIFIER.fullmatch(quantity):
        raise DataValidationError(
            file,
            f"{show(quantity)} is not a quantity name (lower-case letters, digits, _)",
            row,
            "quantity",
        )
    if quantity in seen:
        raise DataValidationError(
            file,
            f"quantity {quantity!r} already given in row {seen[quantity]}",
            row,
            "quantity",
        )
    return quantity


def _parse_value(file: str, row: int, quantity: str, cell: str) -> float:
    """Parse the positive value of ``quantity``; a share (a ``share`` part) lies in (0, 1)."""
    value = parse_number(file, row, "value", require(file, row, "value", cell, "value"))
    if value <= 0:
        raise DataValidationError(file, f"value must be positive, got {cell}", row, "value")
    if "share" in quantity.split("_") and not value < 1:
        raise DataValidationError(file, f"a share must lie in (0, 1), got {cell}", row, "value")
    return value


def _parse_partial_date(file: str, row: int, cell: str) -> str:
    """Check a date written ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, and return it as written."""
    date = require(file, row, "date", cell, "date")
    if not _PARTIAL_DATE.fullmatch(date):
        raise DataValidationError(
            file, f"{show(date)} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)", row, "date"
        )
    if len(date) == 10:
        parse_date(file, row, "date", date)
    elif len(date) == 7 and not 1 <= int(date[5:]) <= 12:
        raise DataValidationError(file, f"{date!r} is not a calendar month", row, "date")
    return date


def demography_value(df: pd.DataFrame, quantity: str) -> float:
    """Return the value of one demography quantity; a missing one raises DataValidationError."""
    if quantity not in df.index:
        raise DataValidationError(
            str(df.attrs.get("source_file", "<demography>")),
            f"no quantity {quantity!r} (available: {', '.join(map(str, df.index))})",
            column="quantity",
        )
    return float(df.at[quantity, "value"])
