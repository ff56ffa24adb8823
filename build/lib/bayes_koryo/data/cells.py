"""Parse single cells of a data file, strictly: nothing is coerced, every problem is reported.

Each parser takes the file, row (line number) and column of the cell so that its
:class:`~bayes_koryo.errors.DataValidationError` names where the problem is.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pandas as pd

from bayes_koryo.errors import DataValidationError

# Largest count stored exactly in a float64.
_MAX_COUNT = 2.0**53
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NON_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_THOUSANDS = re.compile(r"[0-9][,'_ \u00a0\u202f][0-9]{3}(?![0-9])")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def show(cell: str, limit: int = 40) -> str:
    """Quote a cell for an error message (escaped, shortened)."""
    return repr(cell if len(cell) <= limit else cell[: limit - 3] + "...")


def parse_number(file: str, row: int, column: str, cell: str) -> float:
    """Parse a finite decimal number written plainly (digits, optional sign, point, exponent)."""
    if _THOUSANDS.search(cell):
        raise DataValidationError(
            file,
            f"{show(cell)} is not a number: thousands separators are not allowed "
            f"(write {re.sub(r'[^0-9.eE+-]', '', cell)})",
            row=row,
            column=column,
        )
    if _NON_FINITE.fullmatch(cell):
        raise DataValidationError(file, f"{show(cell)} is not a finite number", row, column)
    if not _NUMBER.fullmatch(cell):
        raise DataValidationError(file, f"{show(cell)} is not a number", row, column)
    number = float(cell)
    if not math.isfinite(number):
        raise DataValidationError(file, f"{show(cell)} is not a finite number", row, column)
    return number


def parse_count(file: str, row: int, column: str, cell: str) -> float:
    """Parse a positive whole count below 2**53, returned as float."""
    number = parse_number(file, row, column, cell)
    if number <= 0:
        raise DataValidationError(file, f"a count must be positive, got {cell}", row, column)
    if not number.is_integer():
        raise DataValidationError(file, f"a count must be a whole number, got {cell}", row, column)
    if number >= _MAX_COUNT:
        raise DataValidationError(file, f"count {cell} is implausibly large", row, column)
    return number


def parse_date(file: str, row: int, column: str, cell: str) -> dt.date:
    """Parse an ISO date ``YYYY-MM-DD`` within the range of a pandas Timestamp."""
    if not _ISO_DATE.fullmatch(cell):
        raise DataValidationError(
            file, f"{show(cell)} is not an ISO date (YYYY-MM-DD)", row, column
        )
    try:
        date = dt.date.fromisoformat(cell)
    except ValueError:
        raise DataValidationError(file, f"{cell!r} is not a calendar date", row, column) from None
    if not pd.Timestamp.min.date() < date < pd.Timestamp.max.date():
        raise DataValidationError(file, f"date {cell} is out of range", row, column)
    return date


def require(file: str, row: int, column: str, cell: str, what: str) -> str:
    """Return ``cell``, or raise naming the missing ``what`` when the cell is blank."""
    if not cell:
        raise DataValidationError(file, f"missing {what} (blank cell)", row, column)
    return cell


def date_array(values: list[dt.date]) -> np.ndarray:
    """Turn parsed dates into a datetime64[ns] column."""
    return np.array([d.isoformat() for d in values], dtype="datetime64[ns]")


def string_series(values: list[str]) -> pd.Series:
    """Turn cells into a string column."""
    return pd.Series(values, dtype=str)
