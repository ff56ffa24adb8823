"""Shared pieces of the command line.

Output formats, table printing, option types, the checks every command makes before it
writes a file, and the loading of a run file with its report.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer

from bayes_koryo.outputs.tables import markdown_table
from bayes_koryo.study import CI_KINDS, CI_PROB

if TYPE_CHECKING:
    import xarray as xr

    from bayes_koryo.errors import ConfigError, ResultFileError
    from bayes_koryo.inference.diagnostics import Diagnostics
    from bayes_koryo.inference.fit import KoryoModel
    from bayes_koryo.outputs.report import Report

PROG = "bayes-koryo"

app = typer.Typer(
    name=PROG,
    help="Bayesian estimate of the unique people behind Koryolink's reported subscriber counts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class OutputFormat(StrEnum):
    """How :func:`print_frame` renders a table."""

    table = "table"
    csv = "csv"
    md = "md"
    json = "json"


# --------------------------------------------------------------------------- output helpers


def _integral_columns(df: pd.DataFrame) -> set[str]:
    """Float columns whose non-missing values are all whole numbers (printed without '.0')."""
    out = set()
    for column in df.columns:
        if pd.api.types.is_float_dtype(df[column]):
            values = df[column].dropna()
            if ((values % 1 == 0) & (values.abs() < 2.0**53)).all():
                out.add(column)
    return out


def _plain(value: object, integral: bool) -> object:
    """Return ``value`` JSON-ready: None for missing, ISO strings for dates, plain numbers."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and integral:
        return int(value)
    return value


def frame_records(df: pd.DataFrame) -> list[dict[str, object]]:
    """Rows of ``df`` as JSON-ready dicts (NaN -> None, dates -> ISO, whole floats -> int)."""
    integral = _integral_columns(df)
    return [
        {c: _plain(v, c in integral) for c, v in zip(df.columns, row, strict=True)}
        for row in df.itertuples(index=False, name=None)
    ]


def _text(value: object, thousands: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, int) and thousands:
        return f"{value:,}"
    return str(value)


def render_frame(df: pd.DataFrame, fmt: OutputFormat) -> str:
    """``df`` as CSV, Markdown or JSON text (all columns, no index)."""
    records = frame_records(df)
    columns = [str(c) for c in df.columns]
    if fmt == OutputFormat.json:
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    if fmt == OutputFormat.csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_text(v) for v in rec.values()] for rec in records])
        return buffer.getvalue()
    if fmt == OutputFormat.md:
        rows = ([_text(v) for v in rec.values()] for rec in records)
        return markdown_table(columns, rows) + "\n"
    raise ValueError(f"render_frame cannot render {fmt!r}; use print_frame for tables")


def print_frame(
    df: pd.DataFrame, fmt: OutputFormat = OutputFormat.table, *, title: str | None = None
) -> None:
    """Print ``df`` to stdout: a rich table (numbers with thousands separators) or text."""
    if fmt != OutputFormat.table:
        sys.stdout.write(render_frame(df, fmt))
        return
    from rich.console import Console
    from rich.table import Table

    rows = [[_text(v, thousands=True) for v in rec.values()] for rec in frame_records(df)]
    table = Table(title=title)
    for i, column in enumerate(df.columns):
        width = max([len(str(column))] + [len(row[i]) for row in rows])
        table.add_column(
            str(column),
            justify="right" if pd.api.types.is_numeric_dtype(df[column]) else "left",
            no_wrap=width <= 24,  # short columns (dates, names, numbers) never wrap
        )
    for row in rows:
        table.add_row(*row)
    console = Console()
    if not console.is_terminal:  # a file or pipe: do not squeeze the table into 80 columns
        console = Console(width=max(console.width, 160))
    console.print(table)


DataOption = Annotated[
    Path | None,
    typer.Option("--data", metavar="FILE", help="Observations CSV (default: the bundled data)."),
]


ConfigArg = Annotated[Path, typer.Argument(help="Model config TOML, e.g. models/baseline.toml.")]


def config_error(message: str) -> ConfigError:
    """Return a :class:`~bayes_koryo.errors.ConfigError` (exit code 2) for the caller to raise."""
    from bayes_koryo.errors import ConfigError

    return ConfigError(message)


def check_interval(ci_kind: str, ci_prob: float) -> None:
    """Raise a ConfigError unless ``ci_kind`` is ETI or HDI (any case) and 0 < ``ci_prob`` < 1."""
    if ci_kind.upper() not in CI_KINDS:
        raise config_error(f"--ci-kind: expected ETI or HDI, got {ci_kind!r}")
    if not 0 < ci_prob < 1:
        raise config_error(f"--ci-prob: expected a mass between 0 and 1, got {ci_prob}")


def write_text_output(path: Path, text: str, overwrite: bool = True) -> None:
    """Write a text output atomically (see ``bayes_koryo.atomic``).

    An existing file is replaced only with ``overwrite``; otherwise :func:`exists_error` is
    raised.
    """
    from bayes_koryo.atomic import atomic_write_text

    try:
        atomic_write_text(path, text, overwrite=overwrite)
    except FileExistsError:
        raise exists_error(path) from None


def check_output_file_before_work(path: Path, overwrite: bool) -> None:
    """Fail before any work unless ``path`` can be written as a file (``--force``: replaced).

    See ``bayes_koryo.atomic.check_output_file``; raises ``OutputPathError`` (exit code 2).
    """
    from bayes_koryo.atomic import check_output_file

    check_output_file(path, overwrite=overwrite)


def check_output_dir_before_work(path: Path) -> None:
    """Fail before any work unless files can be written into the folder ``path``.

    See ``bayes_koryo.atomic.check_output_dir`` (creates the folder if needed); raises
    ``OutputPathError`` (exit code 2).
    """
    from bayes_koryo.atomic import check_output_dir

    check_output_dir(path)


def exists_error(path: Path) -> ResultFileError:
    """Return the error for an output file that exists already and no ``--force``."""
    from bayes_koryo.errors import ResultFileError

    return ResultFileError(f"{path}: exists already (use --force to overwrite)")


def fitted_run(model: KoryoModel) -> tuple[xr.DataTree, Diagnostics]:
    """Return the draws and the diagnostics of a fitted or loaded model.

    ``fit`` and ``load_run`` set both; a model without them is a bug (an internal error).
    """
    if model.idata is None or model.diagnostics is None:
        raise RuntimeError(f"{model.config.name}: the model has no draws or diagnostics")
    return model.idata, model.diagnostics


StructuralOpt = Annotated[
    Path | None,
    typer.Option(
        "--structural-range",
        help="structural_range.json written by 'sensitivity' (variants fitted on the same "
        "data): print the range beside each headline interval.",
    ),
]


def load_model_and_report(
    run: Path, ci_kind: str, ci_prob: float = CI_PROB, structural_range: Path | None = None
) -> tuple[KoryoModel, Report]:
    """Load a run file and build its Report; return ``(model, report)``.

    Checks the interval options and reads ``structural_range`` first, and warns on stderr
    when the run did not converge.
    """
    from bayes_koryo.inference.fit import load_run
    from bayes_koryo.outputs import report as rep

    check_interval(ci_kind, ci_prob)
    structural = None if structural_range is None else rep.read_structural_range(structural_range)
    model = load_run(run)
    _, diagnostics = fitted_run(model)
    if not diagnostics.converged:
        typer.echo(
            f"warning: {run} did not pass the convergence checks; do not cite its numbers", err=True
        )
    return model, rep.build_report(model, prob=ci_prob, kind=ci_kind.upper(), structural=structural)


QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Show no progress on stderr (results still print).")
]


def show_progress(quiet: bool) -> bool:
    """Return whether to draw progress bars: not ``quiet`` and stderr is a terminal."""
    return not quiet and sys.stderr.isatty()


@contextlib.contextmanager
def progress_reporter(what: str, quiet: bool = False) -> Iterator[Callable[[int, int], None]]:
    """Yield a ``progress(done, total)`` callback for a long command.

    On a terminal it draws a rich progress bar on stderr with the count, the elapsed time and
    the estimated time left; elsewhere (a log file, CI) it prints one plain line per update;
    with ``quiet`` it prints nothing.
    """
    if quiet:
        yield lambda done, total: None
        return
    if not sys.stderr.isatty():
        yield lambda done, total: typer.echo(f"  {done}/{total} {what} done", err=True)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(what, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
