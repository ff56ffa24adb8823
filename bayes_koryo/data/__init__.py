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
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_koryo.errors import DataValidationError
from bayes_koryo.study import (  # noqa: F401  (re-exported: the data layer's vocabulary)
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
    "KINDS",
    "KORYOLINK_LAUNCH",
    "MAX_DATA_ROWS",
    "MAX_FILE_BYTES",
    "NETWORK_COLUMNS",
    "NETWORK_FILE",
    "OBSERVATIONS_FILE",
    "OBSERVATION_COLUMNS",
    "QUANTITIES",
    "active_share_observation",
    "check_observation_frame",
    "data_hash",
    "demography_value",
    "load_demography",
    "load_network",
    "load_observations",
    "source_row",
]

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
_OBS_REQUIRED = ("date", "value", "quantity", "kind", "source")


DEMOGRAPHY_COLUMNS = ("quantity", "value", "date", "source", "url", "note")
_DEMO_REQUIRED = ("quantity", "value", "date", "source")

NETWORK_COLUMNS = (
    "date",
    "base_stations",
    "population_coverage",
    "monthly_arpu_usd",
    "minutes_of_use",
    "source_note",
)
_NET_NUMBERS = NETWORK_COLUMNS[1:5]

#: Largest data file read (bytes); the bundled files are a few kB.
MAX_FILE_BYTES = 5_000_000
#: Most data rows accepted in one file (the bundled observations have about 20).
MAX_DATA_ROWS = 10_000

# Largest count stored exactly in a float64.
_MAX_COUNT = 2.0**53
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NON_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_THOUSANDS = re.compile(r"[0-9][,'_ \u00a0\u202f][0-9]{3}(?![0-9])")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PARTIAL_DATE = re.compile(r"[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?")
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Table:
    """A CSV file read as strings: ``rows`` holds (line number, {column: stripped cell})."""

    file: str
    header_row: int
    columns: tuple[str, ...]
    rows: list[tuple[int, dict[str, str]]]


def _show(cell: str, limit: int = 40) -> str:
    """Quote a cell for an error message (escaped, shortened)."""
    return repr(cell if len(cell) <= limit else cell[: limit - 3] + "...")


def _read_bytes(path: str | Path | None, bundled: str) -> tuple[str, bytes]:
    """(label, content) of a data file, read at most MAX_FILE_BYTES + 1 bytes far."""
    if path is None:
        resource = resources.files(__name__).joinpath(bundled)
        label = str(resource)
        opener = resource.open
    else:
        label = str(path)
        opener = Path(path).open
    try:
        with opener("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise DataValidationError(label, f"cannot read file: {exc.strerror or exc}") from exc
    if len(raw) > MAX_FILE_BYTES:
        raise DataValidationError(
            label,
            f"file is larger than {MAX_FILE_BYTES:,} bytes; not a table of reported "
            "figures (split it or check the path)",
        )
    return label, raw


def _not_utf8_hint(raw: bytes) -> str:
    """Why a file is not UTF-8, and what to do about it."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or raw[:200].count(b"\0") > 2:
        return "the file looks like UTF-16; save it as UTF-8"
    return "save the file as UTF-8 (e.g. not Latin-1 or Windows-1252)"


def _read_table(
    path: str | Path | None, bundled: str, required: Iterable[str], optional: Iterable[str]
) -> _Table:
    """Read a CSV as stripped strings and check its header; no value is converted here."""
    file, raw = _read_bytes(path, bundled)
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataValidationError(
            file,
            f"not valid UTF-8 text (byte {exc.start}: {exc.reason}); {_not_utf8_hint(raw)}",
            row=line,
        ) from None
    if not text.strip():
        raise DataValidationError(file, "file is empty (expected a header row and data rows)")

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    previous = 0
    try:
        for fields in reader:
            start, previous = previous + 1, reader.line_num
            if fields:  # blank lines are skipped (row numbers still count them)
                records.append((start, fields))
                if len(records) > MAX_DATA_ROWS + 1:
                    raise DataValidationError(
                        file,
                        f"more than {MAX_DATA_ROWS:,} data rows; not a table of reported figures",
                        row=start,
                    )
    except csv.Error as exc:
        raise DataValidationError(file, f"malformed CSV: {exc}", row=previous + 1) from None

    header_row, header = records[0]
    columns = tuple(name.strip() for name in header)
    required, optional = tuple(required), tuple(optional)
    allowed = required + optional
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            raise DataValidationError(
                file, "column appears twice in the header", row=header_row, column=name
            )
        seen.add(name)
    unknown = [name for name in columns if name not in allowed]
    missing = [name for name in required if name not in columns]
    if missing:
        problem = f"missing required column(s): {', '.join(map(repr, missing))}"
        if unknown:
            problem += f" (the header has unknown column(s): {', '.join(map(repr, unknown))})"
        separator = next((d for d in ";\t|" if len(columns) == 1 and d in columns[0]), None)
        if separator:
            problem += f"; the file seems to be separated by {separator!r}: use commas"
        raise DataValidationError(file, problem, row=header_row, column=missing[0])
    if unknown:
        raise DataValidationError(
            file,
            f"unknown column(s): {', '.join(map(repr, unknown))} (allowed: {', '.join(allowed)})",
            row=header_row,
            column=unknown[0],
        )
    if len(records) < 2:
        raise DataValidationError(file, "no data rows (the file has only a header)")

    rows = []
    for line, fields in records[1:]:
        if len(fields) != len(columns):
            column = columns[len(fields)] if len(fields) < len(columns) else None
            raise DataValidationError(
                file,
                f"row has {len(fields)} field(s) but the header has {len(columns)}",
                row=line,
                column=column,
            )
        cells = {name: cell.strip() for name, cell in zip(columns, fields, strict=True)}
        for name in optional:
            cells.setdefault(name, "")
        rows.append((line, cells))
    return _Table(file, header_row, columns, rows)


# --------------------------------------------------------------------------- cell parsers


def _parse_number(file: str, row: int, column: str, cell: str) -> float:
    """A finite decimal number written plainly (digits, optional sign, point and exponent)."""
    if _THOUSANDS.search(cell):
        raise DataValidationError(
            file,
            f"{_show(cell)} is not a number: thousands separators are not allowed "
            f"(write {re.sub(r'[^0-9.eE+-]', '', cell)})",
            row=row,
            column=column,
        )
    if _NON_FINITE.fullmatch(cell):
        raise DataValidationError(file, f"{_show(cell)} is not a finite number", row, column)
    if not _NUMBER.fullmatch(cell):
        raise DataValidationError(file, f"{_show(cell)} is not a number", row, column)
    number = float(cell)
    if not math.isfinite(number):
        raise DataValidationError(file, f"{_show(cell)} is not a finite number", row, column)
    return number


def _parse_count(file: str, row: int, column: str, cell: str) -> float:
    """A positive whole count below 2**53, returned as float."""
    number = _parse_number(file, row, column, cell)
    if number <= 0:
        raise DataValidationError(file, f"a count must be positive, got {cell}", row, column)
    if not number.is_integer():
        raise DataValidationError(file, f"a count must be a whole number, got {cell}", row, column)
    if number >= _MAX_COUNT:
        raise DataValidationError(file, f"count {cell} is implausibly large", row, column)
    return number


def _parse_date(file: str, row: int, column: str, cell: str) -> dt.date:
    if not _ISO_DATE.fullmatch(cell):
        raise DataValidationError(
            file, f"{_show(cell)} is not an ISO date (YYYY-MM-DD)", row, column
        )
    try:
        date = dt.date.fromisoformat(cell)
    except ValueError:
        raise DataValidationError(file, f"{cell!r} is not a calendar date", row, column) from None
    if not pd.Timestamp.min.date() < date < pd.Timestamp.max.date():
        raise DataValidationError(file, f"date {cell} is out of range", row, column)
    return date


def _require(file: str, row: int, column: str, cell: str, what: str) -> str:
    if not cell:
        raise DataValidationError(file, f"missing {what} (blank cell)", row, column)
    return cell


def _dates(values: list[dt.date]) -> np.ndarray:
    return np.array([d.isoformat() for d in values], dtype="datetime64[ns]")


def _strings(values: list[str]) -> pd.Series:
    return pd.Series(values, dtype=str)


# --------------------------------------------------------------------------- observations


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
    table = _read_table(
        path,
        OBSERVATIONS_FILE,
        _OBS_REQUIRED,
        [c for c in OBSERVATION_COLUMNS if c not in _OBS_REQUIRED],
    )
    file = table.file
    records: list[dict] = []
    for row, cells in table.rows:
        rec: dict = {"row": row}
        rec["date"] = _parse_date(
            file, row, "date", _require(file, row, "date", cells["date"], "date")
        )
        if rec["date"] < KORYOLINK_LAUNCH:
            raise DataValidationError(
                file,
                f"date {rec['date'].isoformat()} is before Koryolink's launch on "
                f"{KORYOLINK_LAUNCH.isoformat()}",
                row,
                "date",
            )
        rec["value"] = _parse_count(
            file, row, "value", _require(file, row, "value", cells["value"], "value")
        )
        quantity = _require(file, row, "quantity", cells["quantity"], "quantity")
        if quantity not in QUANTITIES:
            raise DataValidationError(
                file,
                f"unknown quantity {_show(quantity)} (expected one of: {', '.join(QUANTITIES)})",
                row,
                "quantity",
            )
        kind = _require(file, row, "kind", cells["kind"], "kind")
        if kind not in KINDS:
            raise DataValidationError(
                file,
                f"unknown kind {_show(kind)} (expected one of: {', '.join(KINDS)})",
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
        rec["quantity"], rec["kind"] = quantity, kind
        for bound in ("lower", "upper"):
            cell = cells[bound]
            rec[bound] = _parse_count(file, row, bound, cell) if cell else math.nan
        value, lower, upper = rec["value"], rec["lower"], rec["upper"]
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
        rec["source"] = _require(file, row, "source", cells["source"], "source")
        rec["url"], rec["note"] = cells["url"], cells["note"]
        records.append(rec)

    _check_duplicates(file, records)
    _check_active_shares(file, records)

    df = pd.DataFrame(
        {
            "date": _dates([r["date"] for r in records]),
            "value": np.array([r["value"] for r in records], dtype="float64"),
            "quantity": pd.Categorical([r["quantity"] for r in records], categories=QUANTITIES),
            "kind": pd.Categorical([r["kind"] for r in records], categories=KINDS),
            "lower": np.array([r["lower"] for r in records], dtype="float64"),
            "upper": np.array([r["upper"] for r in records], dtype="float64"),
            "source": _strings([r["source"] for r in records]),
            "url": _strings([r["url"] for r in records]),
            "note": _strings([r["note"] for r in records]),
        },
        columns=list(OBSERVATION_COLUMNS),
    )
    order = df.sort_values(["date", "quantity"], kind="mergesort").index
    df = df.loc[order].reset_index(drop=True)
    df.attrs["source_file"] = file
    df.attrs["source_rows"] = [int(records[i]["row"]) for i in order]
    return df


def _check_duplicates(file: str, records: list[dict]) -> None:
    first: dict[tuple, dict] = {}
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
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _check_active_shares(file: str, records: list[dict]) -> None:
    subscribers: dict[dt.date, list[dict]] = {}
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


def active_share_observation(df: pd.DataFrame) -> pd.DataFrame:
    """For each ``active_numbers`` row: the share of the subscribers on the same date.

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


def source_row(df: pd.DataFrame, position: int) -> int | None:
    """Line number in the source file of the frame's row at ``position`` (None if unknown)."""
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


def data_hash(df: pd.DataFrame) -> str:
    """SHA-256 (hex) of a canonical CSV of the observations, stable across processes.

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


def _canonical_float(value: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    return "" if math.isnan(number) else repr(number)


# --------------------------------------------------------------------------- demography


def load_demography(path: str | Path | None = None) -> pd.DataFrame:
    """Load DPRK demographic reference figures; ``None`` reads the bundled file.

    Returns a frame indexed by ``quantity`` (unique lower-case identifiers) with columns
    ``value`` float64 (positive; quantities with a ``share`` part lie in (0, 1)), ``date``
    (a string ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``), ``source``, ``url``, ``note``.
    Errors are reported as in :func:`load_observations`.
    """
    table = _read_table(path, DEMOGRAPHY_FILE, _DEMO_REQUIRED, ("url", "note"))
    file = table.file
    seen: dict[str, int] = {}
    quantities, values, dates = [], [], []
    for row, cells in table.rows:
        quantity = _require(file, row, "quantity", cells["quantity"], "quantity")
        if not _IDENTIFIER.fullmatch(quantity):
            raise DataValidationError(
                file,
                f"{_show(quantity)} is not a quantity name (lower-case letters, digits, _)",
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
        seen[quantity] = row
        value = _parse_number(
            file, row, "value", _require(file, row, "value", cells["value"], "value")
        )
        if value <= 0:
            raise DataValidationError(
                file, f"value must be positive, got {cells['value']}", row, "value"
            )
        if "share" in quantity.split("_") and not value < 1:
            raise DataValidationError(
                file, f"a share must lie in (0, 1), got {cells['value']}", row, "value"
            )
        date = _require(file, row, "date", cells["date"], "date")
        if not _PARTIAL_DATE.fullmatch(date):
            raise DataValidationError(
                file, f"{_show(date)} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)", row, "date"
            )
        if len(date) == 10:
            _parse_date(file, row, "date", date)
        elif len(date) == 7 and not 1 <= int(date[5:]) <= 12:
            raise DataValidationError(file, f"{date!r} is not a calendar month", row, "date")
        _require(file, row, "source", cells["source"], "source")
        quantities.append(quantity)
        values.append(value)
        dates.append(date)
    df = pd.DataFrame(
        {
            "value": np.array(values, dtype="float64"),
            "date": _strings(dates),
            "source": _strings([c["source"] for _, c in table.rows]),
            "url": _strings([c["url"] for _, c in table.rows]),
            "note": _strings([c["note"] for _, c in table.rows]),
        }
    )
    df.index = pd.Index(quantities, name="quantity", dtype=str)
    df.attrs["source_file"] = file
    return df


def demography_value(df: pd.DataFrame, quantity: str) -> float:
    """The value of one demography quantity; a missing quantity raises DataValidationError."""
    if quantity not in df.index:
        raise DataValidationError(
            str(df.attrs.get("source_file", "<demography>")),
            f"no quantity {quantity!r} (available: {', '.join(map(str, df.index))})",
            column="quantity",
        )
    return float(df.at[quantity, "value"])


# --------------------------------------------------------------------------- network


def load_network(path: str | Path | None = None) -> pd.DataFrame:
    """Load Koryolink network facts (2009-2011); ``None`` reads the bundled file.

    Columns: ``date`` datetime64[ns] (unique, sorted), ``base_stations`` (whole count),
    ``population_coverage`` (in (0, 1]), ``monthly_arpu_usd`` and ``minutes_of_use``
    (positive), all float64 with NaN when blank, and ``source_note`` (required string).
    Every row needs at least one number. Errors as in :func:`load_observations`.
    """
    table = _read_table(path, NETWORK_FILE, NETWORK_COLUMNS, ())
    file = table.file
    data: dict[str, list] = {c: [] for c in NETWORK_COLUMNS}
    seen: dict[dt.date, int] = {}
    for row, cells in table.rows:
        date = _parse_date(file, row, "date", _require(file, row, "date", cells["date"], "date"))
        if date in seen:
            raise DataValidationError(
                file, f"date {date.isoformat()} already given in row {seen[date]}", row, "date"
            )
        seen[date] = row
        data["date"].append(date)
        for column in _NET_NUMBERS:
            cell = cells[column]
            if not cell:
                number = math.nan
            elif column == "base_stations":
                number = _parse_count(file, row, column, cell)
            else:
                number = _parse_number(file, row, column, cell)
                if number <= 0:
                    raise DataValidationError(file, f"must be positive, got {cell}", row, column)
                if column == "population_coverage" and number > 1:
                    raise DataValidationError(
                        file, f"coverage is a share in (0, 1], got {cell}", row, column
                    )
            data[column].append(number)
        if all(math.isnan(data[c][-1]) for c in _NET_NUMBERS):
            raise DataValidationError(file, "row has no numbers", row, _NET_NUMBERS[0])
        data["source_note"].append(
            _require(file, row, "source_note", cells["source_note"], "source note")
        )
    df = pd.DataFrame(
        {
            "date": _dates(data["date"]),
            **{c: np.array(data[c], dtype="float64") for c in _NET_NUMBERS},
            "source_note": _strings(data["source_note"]),
        },
        columns=list(NETWORK_COLUMNS),
    )
    df = df.sort_values("date", kind="mergesort").reset_index(drop=True)
    df.attrs["source_file"] = file
    return df


def coverage_hash() -> str:
    """SHA-256 (hex) of the reported coverage figures the model reads from the bundled
    network file (dates and values): part of every run id, checked when a run is loaded.
    """
    reported = load_network().dropna(subset=["population_coverage"])
    text = "\n".join(
        f"{d:%Y-%m-%d},{v!r}"
        for d, v in zip(
            reported["date"], reported["population_coverage"].astype(float), strict=True
        )
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
