"""Load the reported counts (``koryolink_reported_2008_2013.csv``), validating every cell.

Each row is checked on its own (dates, counts, quantity and kind, bounds around the value),
then the rows together (no duplicates; every active count is a share of the subscribers on
the same date). The schema is documented in the package docstring (``bayes_koryo.data``).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayes_koryo.data.cells import (
    date_array,
    parse_count,
    parse_date,
    require,
    show,
    string_series,
)
from bayes_koryo.data.reader import read_table
from bayes_koryo.data.schema import OBSERVATION_COLUMNS, OBSERVATION_REQUIRED, OBSERVATIONS_FILE
from bayes_koryo.errors import DataValidationError
from bayes_koryo.study import ACTIVE_KINDS, KINDS, KORYOLINK_LAUNCH, QUANTITIES

_Observation = dict[str, Any]
"""One parsed row: ``row`` (its line number) and a value for every observation column."""


def load_observations(path: str | Path | None = None) -> pd.DataFrame:
    """Load and validate reported counts; ``None`` reads the bundled file.

    Returns one row per observation, sorted by (date, quantity) with index 0..n-1 and the
    columns of :data:`OBSERVATION_COLUMNS`: ``date`` datetime64[ns], ``value``, ``lower``
    and ``upper`` float64 (NaN when blank), ``quantity`` and ``kind`` categorical with the
    categories :data:`QUANTITIES` and :data:`KINDS`, ``source``/``url``/``note`` strings
    ("" when blank). ``df.attrs["source_file"]`` is the file read and
    ``df.attrs["source_rows"]`` the line number in it of each row of the frame.

    Raises :class:`DataValidationError` ("FILE, row N, column 'X': problem", where row N is
    the line number in the file, the header being row 1) on any schema violation: bad
    header, unparseable date or count, unknown quantity or kind, kind incompatible with
    the quantity, bounds not around the value, blank source, duplicated observations, or
    an active count that is not a share in (0, 1) of the subscribers on the same date.
    """
    table = read_table(
        path,
        OBSERVATIONS_FILE,
        OBSERVATION_REQUIRED,
        [c for c in OBSERVATION_COLUMNS if c not in OBSERVATION_REQUIRED],
    )
    file = table.file
    records = [_parse_observation(file, row, cells) for row, cells in table.rows]
    _check_duplicates(file, records)
    _check_active_shares(file, records)
    return _observation_frame(file, records)


def _parse_observation(file: str, row: int, cells: dict[str, str]) -> _Observation:
    """Parse and check the cells of one row, column by column."""
    rec: _Observation = {"row": row}
    rec["date"] = _parse_report_date(file, row, cells["date"])
    rec["value"] = parse_count(
        file, row, "value", require(file, row, "value", cells["value"], "value")
    )
    rec["quantity"], rec["kind"] = _parse_quantity_and_kind(file, row, cells)
    rec["lower"], rec["upper"] = _parse_bounds(file, row, cells, rec["value"])
    rec["source"] = require(file, row, "source", cells["source"], "source")
    rec["url"], rec["note"] = cells["url"], cells["note"]
    return rec


def _parse_report_date(file: str, row: int, cell: str) -> dt.date:
    """Parse the date a count refers to: not before Koryolink's launch."""
    date = parse_date(file, row, "date", require(file, row, "date", cell, "date"))
    if date < KORYOLINK_LAUNCH:
        raise DataValidationError(
            file,
            f"date {date.isoformat()} is before Koryolink's launch on "
            f"{KORYOLINK_LAUNCH.isoformat()}",
            row,
            "date",
        )
    return date


def _parse_quantity_and_kind(file: str, row: int, cells: dict[str, str]) -> tuple[str, str]:
    """Return the (quantity, kind) of a row: both known, and the kind fitting the quantity."""
    quantity = require(file, row, "quantity", cells["quantity"], "quantity")
    if quantity not in QUANTITIES:
        raise DataValidationError(
            file,
            f"unknown quantity {show(quantity)} (expected one of: {', '.join(QUANTITIES)})",
            row,
            "quantity",
        )
    kind = require(file, row, "kind", cells["kind"], "kind")
    if kind not in KINDS:
        raise DataValidationError(
            file,
            f"unknown kind {show(kind)} (expected one of: {', '.join(KINDS)})",
            row,
            "kind",
        )
    active_kinds = " or ".join(repr(k) for k in sorted(ACTIVE_KINDS))
    if quantity == "active_numbers" and kind not in ACTIVE_KINDS:
        raise DataValidationError(
            file,
            f"quantity 'active_numbers' needs kind {active_kinds}, got {kind!r}",
            row,
            "kind",
        )
    if quantity != "active_numbers" and kind in ACTIVE_KINDS:
        raise DataValidationError(
            file,
            f"kind {kind!r} needs quantity 'active_numbers', got {quantity!r}",
            row,
            "kind",
        )
    return quantity, kind


def _parse_bounds(file: str, row: int, cells: dict[str, str], value: float) -> tuple[float, float]:
    """Return the (lower, upper) bounds of a row, NaN when blank, checked around ``value``."""
    lower = parse_count(file, row, "lower", cells["lower"]) if cells["lower"] else math.nan
    upper = parse_count(file, row, "upper", cells["upper"]) if cells["upper"] else math.nan
    if lower > value:
        raise DataValidationError(
            file, f"lower bound {lower:.0f} is above the value {value:.0f}", row, "lower"
        )
    if upper < value:
        raise DataValidationError(
            file, f"upper bound {upper:.0f} is below the value {value:.0f}", row, "upper"
        )
    if lower >= upper:
        raise DataValidationError(
            file,
            f"lower bound {lower:.0f} must be below the upper bound {upper:.0f}",
            row,
            "upper",
        )
    return lower, upper


def _check_duplicates(file: str, records: list[_Observation]) -> None:
    """Refuse two rows with the same (date, quantity, kind), naming the first difference."""
    first: dict[tuple, _Observation] = {}
    for rec in records:
        key = (rec["date"], rec["quantity"], rec["kind"])
        earlier = first.setdefault(key, rec)
        if earlier is rec:
            continue
        fields = [c for c in OBSERVATION_COLUMNS if not _same(rec[c], earlier[c])]
        if not fields:
            raise DataValidationError(
                file, f"duplicate row, same as row {earlier['row']}", row=rec["row"]
            )
        if "value" in fields:
            raise DataValidationError(
                file,
                f"duplicate (date, quantity, kind) with a different value: {rec['value']:.0f} "
                f"here, {earlier['value']:.0f} in row {earlier['row']}",
                row=rec["row"],
                column="value",
            )
        raise DataValidationError(
            file,
            f"duplicate (date, quantity, kind, value) of row {earlier['row']} "
            f"with a different {fields[0]!r}",
            row=rec["row"],
            column=fields[0],
        )


def _same(a: object, b: object) -> bool:
    """Compare two cells' values, a blank (NaN) bound being equal to another blank one."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _check_active_shares(file: str, records: list[_Observation]) -> None:
    """Check that every active count has one subscribers row on its date, and is below it."""
    subscribers: dict[dt.date, list[_Observation]] = {}
    for rec in records:
        if rec["quantity"] == "subscribers":
            subscribers.setdefault(rec["date"], []).append(rec)
    for rec in records:
        if rec["quantity"] != "active_numbers":
            continue
        same_day = subscribers.get(rec["date"], [])
        if not same_day:
            raise DataValidationError(
                file,
                f"no subscribers row on {rec['date'].isoformat()}, "
                "so the active share cannot be formed",
                row=rec["row"],
                column="date",
            )
        if len(same_day) > 1:
            rows = " and ".join(str(r["row"]) for r in same_day)
            raise DataValidationError(
                file,
                f"the active share is ambiguous: rows {rows} both give subscribers "
                f"on {rec['date'].isoformat()}",
                row=rec["row"],
                column="date",
            )
        base = same_day[0]
        if rec["value"] >= base["value"]:
            raise DataValidationError(
                file,
                f"active numbers {rec['value']:.0f} are not below the {base['value']:.0f} "
                f"subscribers of row {base['row']}: the active share must lie in (0, 1)",
                row=rec["row"],
                column="value",
            )


def _observation_frame(file: str, records: list[_Observation]) -> pd.DataFrame:
    """Build the typed frame of the parsed rows, sorted by (date, quantity), with provenance."""
    df = pd.DataFrame(
        {
            "date": date_array([r["date"] for r in records]),
            "value": np.array([r["value"] for r in records], dtype="float64"),
            "quantity": pd.Categorical([r["quantity"] for r in records], categories=QUANTITIES),
            "kind": pd.Categorical([r["kind"] for r in records], categories=KINDS),
            "lower": np.array([r["lower"] for r in records], dtype="float64"),
            "upper": np.array([r["upper"] for r in records], dtype="float64"),
            "source": string_series([r["source"] for r in records]),
            "url": string_series([r["url"] for r in records]),
            "note": string_series([r["note"] for r in records]),
        },
        columns=list(OBSERVATION_COLUMNS),
    )
    order = df.sort_values(["date", "quantity"], kind="mergesort").index
    df = df.loc[order].reset_index(drop=True)
    df.attrs["source_file"] = file
    df.attrs["source_rows"] = [int(records[i]["row"]) for i in order]
    return df
