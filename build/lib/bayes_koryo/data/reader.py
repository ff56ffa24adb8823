"""Read a data file defensively into a table of stripped strings; no value is converted here.

A file is read at most :data:`~bayes_koryo.data.schema.MAX_FILE_BYTES` bytes and
:data:`~bayes_koryo.data.schema.MAX_DATA_ROWS` data rows far, decoded as UTF-8 (a BOM is
allowed), parsed as strict CSV and its header checked against the allowed columns. Row numbers
are line numbers in the file (the header is row 1; blank lines are skipped but counted).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from bayes_koryo.data.schema import DATA_PACKAGE, MAX_DATA_ROWS, MAX_FILE_BYTES
from bayes_koryo.errors import DataValidationError

_Record = tuple[int, list[str]]
"""A non-blank CSV record: the line number it starts on and its fields."""


@dataclass(frozen=True)
class Table:
    """A CSV file read as strings: ``rows`` holds (line number, {column: stripped cell})."""

    file: str
    header_row: int
    columns: tuple[str, ...]
    rows: list[tuple[int, dict[str, str]]]


def read_table(
    path: str | Path | None, bundled: str, required: Iterable[str], optional: Iterable[str]
) -> Table:
    """Read a CSV as stripped strings and check its header; no value is converted here.

    ``path`` None reads the bundled file ``bundled``. Optional columns missing from the
    header read as blank cells in every row.
    """
    file, raw = _read_bytes(path, bundled)
    records = _records(file, _decode(file, raw))
    header_row, header = records[0]
    columns = tuple(name.strip() for name in header)
    required_columns, optional_columns = tuple(required), tuple(optional)
    _check_header(file, header_row, columns, required_columns, optional_columns)
    if len(records) < 2:
        raise DataValidationError(file, "no data rows (the file has only a header)")
    return Table(file, header_row, columns, _rows(file, columns, optional_columns, records[1:]))


def _read_bytes(path: str | Path | None, bundled: str) -> tuple[str, bytes]:
    """Return (label, content) of a data file, read at most MAX_FILE_BYTES + 1 bytes far."""
    if path is None:
        resource = resources.files(DATA_PACKAGE).joinpath(bundled)
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
    """Say why a file is not UTF-8, and what to do about it."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or raw[:200].count(b"\0") > 2:
        return "the file looks like UTF-16; save it as UTF-8"
    return "save the file as UTF-8 (e.g. not Latin-1 or Windows-1252)"


def _decode(file: str, raw: bytes) -> str:
    """Decode the content of ``file`` as UTF-8 (without a BOM); refuse a blank file."""
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
    return text


def _records(file: str, text: str) -> list[_Record]:
    """Split CSV text into its non-blank records, header first; at most MAX_DATA_ROWS rows."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[_Record] = []
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
    return records


def _check_header(
    file: str,
    header_row: int,
    columns: tuple[str, ...],
    required: tuple[str, ...],
    optional: tuple[str, ...],
) -> None:
    """Check that the header names each column once, every required one and no other."""
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


def _rows(
    file: str, columns: tuple[str, ...], optional: tuple[str, ...], records: list[_Record]
) -> list[tuple[int, dict[str, str]]]:
    """Map each data record to {column: stripped cell}, blank for absent optional columns."""
    rows = []
    for line, fields in records:
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
    return rows
