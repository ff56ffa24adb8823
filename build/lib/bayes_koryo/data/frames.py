"""Work with an observations frame once loaded: provenance, structure, active shares, hash.

These functions take the DataFrame of :func:`~bayes_koryo.data.load_observations` (or one
built in Python with the same columns) rather than a file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math

import numpy as np
import pandas as pd

from bayes_koryo.data.schema import OBSERVATION_COLUMNS
from bayes_koryo.errors import DataValidationError
from bayes_koryo.study import KINDS, QUANTITIES


def source_row(df: pd.DataFrame, position: int) -> int | None:
    """Return the line number in the source file of the frame's row at ``position``.

    None when the frame does not record its rows' line numbers (``df.attrs["source_rows"]``).
    """
    rows = df.attrs.get("source_rows")
    if isinstance(rows, list | tuple) and len(rows) == len(df):
        return int(rows[position])
    return None


def check_observation_frame(df: object) -> None:
    """Check the structure of an observations table handed to the model directly.

    ``load_observations`` validates every cell of a file; a DataFrame built or edited in
    Python (simulated data, a notebook) gets this cheaper structural check before a model is
    built on it: the columns of :data:`OBSERVATION_COLUMNS`, datetime dates, known
    quantities and kinds, finite positive values and bounds. Raises DataValidationError.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataValidationError(
            "<observations>",
            f"expected a pandas DataFrame from load_observations, got {type(df).__name__}",
        )
    file = str(df.attrs.get("source_file", "<observations DataFrame>"))
    missing = [c for c in OBSERVATION_COLUMNS if c not in df.columns]
    if missing:
        raise DataValidationError(
            file, f"missing column(s): {', '.join(map(repr, missing))}", column=missing[0]
        )
    if df.empty:
        raise DataValidationError(file, "no observations (the table is empty)")
    if not pd.api.types.is_datetime64_any_dtype(df["date"]) or df["date"].isna().any():
        raise DataValidationError(
            file,
            "dates must be datetime64 values without gaps (use load_observations)",
            column="date",
        )
    _check_counts(file, df)
    _check_categories(file, df)


def _check_counts(file: str, df: pd.DataFrame) -> None:
    """Check that values are finite positive numbers, and bounds too where not NaN."""
    for column in ("value", "lower", "upper"):
        if not pd.api.types.is_numeric_dtype(df[column]) or pd.api.types.is_bool_dtype(df[column]):
            raise DataValidationError(
                file, f"column must be numeric, not {df[column].dtype}", column=column
            )
        values = df[column].to_numpy(dtype="float64")
        bad = ~(np.isfinite(values) & (values > 0))
        if column != "value":
            bad &= ~np.isnan(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataValidationError(
                file,
                f"{column} must be a finite positive count, got {values[i]!r} (observation {i})",
                row=source_row(df, i),
                column=column,
            )


def _check_categories(file: str, df: pd.DataFrame) -> None:
    """Check that every quantity and kind is one the study knows."""
    for column, allowed in (("quantity", QUANTITIES), ("kind", KINDS)):
        unknown = ~df[column].astype(str).isin(allowed).to_numpy()
        if unknown.any():
            i = int(np.flatnonzero(unknown)[0])
            raise DataValidationError(
                file,
                f"unknown {column} {str(df[column].iloc[i])!r} (observation {i}; expected "
                f"one of: {', '.join(allowed)})",
                row=source_row(df, i),
                column=column,
            )


def active_share_observation(df: pd.DataFrame) -> pd.DataFrame:
    """Return, for each ``active_numbers`` row, the share of the subscribers on the same date.

    Columns: ``date``, ``active`` (the active count), ``subscribers``, ``share`` =
    active / subscribers, and ``share_lower``/``share_upper`` = the active row's
    lower/upper bounds divided by the subscribers value (NaN when the bound is blank).
    """
    file = str(df.attrs.get("source_file", "<observations>"))
    columns = ["date", "active", "subscribers", "share", "share_lower", "share_upper"]
    rows = []
    subs = df[df["quantity"] == "subscribers"]
    for _, active in df[df["quantity"] == "active_numbers"].iterrows():
        base = subs[subs["date"] == active["date"]]
        if len(base) != 1:
            raise DataValidationError(
                file,
                f"{len(base)} subscribers rows on {active['date']:%Y-%m-%d}; "
                "the active share needs exactly one",
                column="date",
            )
        n = float(base["value"].iloc[0])
        rows.append(
            {
                "date": active["date"],
                "active": float(active["value"]),
                "subscribers": n,
                "share": float(active["value"]) / n,
                "share_lower": float(active["lower"]) / n,
                "share_upper": float(active["upper"]) / n,
            }
        )
    out = pd.DataFrame(rows, columns=columns)
    out["date"] = out["date"].astype("datetime64[ns]")
    for column in columns[1:]:
        out[column] = out[column].astype("float64")
    return out


def data_hash(df: pd.DataFrame) -> str:
    """Return the SHA-256 (hex) of a canonical CSV of the observations, stable across processes.

    Columns in schema order, dates as ISO strings, numbers as ``repr(float)`` (blank for
    NaN), text as is; the row order is the frame's order (sorted when loaded).
    """
    missing = [c for c in OBSERVATION_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"data_hash needs the observation columns; missing: {missing}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(OBSERVATION_COLUMNS)
    for rec in df.loc[:, list(OBSERVATION_COLUMNS)].itertuples(index=False):
        date = pd.Timestamp(rec.date)
        writer.writerow(
            [
                date.strftime("%Y-%m-%d") if date == date.normalize() else date.isoformat(),
                _canonical_float(rec.value),
                str(rec.quantity),
                str(rec.kind),
                _canonical_float(rec.lower),
                _canonical_float(rec.upper),
                str(rec.source),
                str(rec.url),
                str(rec.note),
            ]
        )
    return hashlib.sha256(buffer.getvalue().encode("utf-8")).hexdigest()


def _canonical_float(value: float) -> str:
    """Write a number as ``repr(float)``, and NaN as a blank cell."""
    number = float(value)
    return "" if math.isnan(number) else repr(number)
