"""``data`` and ``cite``: the validated observations and BibTeX for every source."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from bayes_koryo.cli.common import DataOption, OutputFormat, app, print_frame
from bayes_koryo.data import load_demography, load_observations
from bayes_koryo.outputs.citation import bibtex


@app.command("data")
def data_command(
    data: DataOption = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.table,
) -> None:
    """Validate the observations and print them with their sources."""
    df = load_observations(data)
    if fmt != OutputFormat.table:
        print_frame(df, fmt)
        return
    shown = df.loc[:, ["date", "quantity", "kind", "value"]].copy()
    bounds = [
        "" if math.isnan(lo) and math.isnan(hi) else f"{_count(lo)} - {_count(hi)}"
        for lo, hi in zip(df["lower"], df["upper"], strict=True)
    ]
    shown["range"] = pd.Series(bounds, dtype=str)
    shown["source"] = df["source"]
    print_frame(shown, fmt, title=f"{len(df)} observations from {df.attrs['source_file']}")


def _count(x: float) -> str:
    return "?" if math.isnan(x) else f"{x:,.0f}"


@app.command("cite")
def cite_command(
    data: DataOption = None,
    demography: Annotated[
        Path | None,
        typer.Option(
            "--demography", metavar="FILE", help="Demography CSV (default: the bundled data)."
        ),
    ] = None,
) -> None:
    """Print BibTeX entries for this package and for every data source."""
    sys.stdout.write(bibtex(load_observations(data), load_demography(demography)))
