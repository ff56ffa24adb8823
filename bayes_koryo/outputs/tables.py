"""The one table writer: Markdown tables, and a table's CSV / JSON / Markdown files.

Every table the package writes or prints goes through here: the report (``outputs.report``),
the sensitivity, variant, LFO and SBC tables (``validation``), the CLI's ``--format md`` and
the generated tables of the documentation (``scripts/``, ``benchmarks/``). Files are written
atomically (``bayes_koryo.atomic``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from bayes_koryo.atomic import atomic_write_text

TABLE_FORMATS = ("csv", "json", "md")


def markdown_cell(value: object) -> str:
    r"""Return ``value`` as the text of one Markdown table cell.

    Backslashes are doubled and ``|`` escaped (``\|``), so the cell shows what it holds; line
    breaks become ``<br>``.
    """
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")
    return re.sub(r"\r\n|\r|\n", "<br>", text)


def markdown_table(head: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """Return a GitHub-flavoured Markdown table (no trailing newline) of formatted cells."""
    lines = ["| " + " | ".join(markdown_cell(h) for h in head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(markdown_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def table_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Return the rows of ``table`` as JSON-ready dicts (NaN as null)."""
    return json.loads(table.to_json(orient="records"))


def write_table(
    table: pd.DataFrame,
    stem: str | Path,
    *,
    formats: Sequence[str] = TABLE_FORMATS,
    header: Mapping[str, Any] | None = None,
    markdown: str | None = None,
    json_exclude: Sequence[str] = (),
) -> list[Path]:
    """Write ``table`` to ``stem``.csv, .json and .md (those in ``formats``), atomically.

    Parameters
    ----------
    table : the rows; the CSV holds every column.
    stem : path without suffix.
    formats : any of ``TABLE_FORMATS``.
    header : fields of the JSON document before its ``"rows"`` (e.g. provenance).
    markdown : the Markdown text (default: :func:`markdown_table` of the raw values).
    json_exclude : columns left out of the JSON rows.

    Returns
    -------
    The paths written, in the order of ``formats``.
    """
    unknown = [f for f in formats if f not in TABLE_FORMATS]
    if unknown:
        raise ValueError(f"table formats must be among {TABLE_FORMATS}, got {unknown}")
    stem = Path(stem)
    paths = []
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        if fmt == "csv":
            text = table.to_csv(index=False)
        elif fmt == "json":
            rows = table_records(table.drop(columns=list(json_exclude), errors="ignore"))
            text = json.dumps({**(header or {}), "rows": rows}, indent=1) + "\n"
        else:
            text = (
                markdown
                if markdown is not None
                else markdown_table(list(table.columns), table.itertuples(index=False)) + "\n"
            )
        atomic_write_text(path, text)
        paths.append(path)
    return paths
