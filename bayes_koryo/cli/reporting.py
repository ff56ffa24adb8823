"""``report`` and ``forecast``: the tables and text a publication cites, from a run file."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer

from bayes_koryo.cli.common import (
    StructuralOpt,
    app,
    check_interval,
    check_output_file_before_work,
    config_error,
    fitted_run,
    load_model_and_report,
    write_text_output,
)
from bayes_koryo.study import CI_KIND, CI_PROB

if TYPE_CHECKING:
    from bayes_koryo.outputs.report import Report


@app.command()
def report(
    run: Annotated[Path, typer.Argument(help="Run file written by 'fit'.")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="md, latex, html, csv or json.")
    ] = "md",
    out: Annotated[Path | None, typer.Option("--out", help="Write here (default: stdout).")] = None,
    ci_kind: Annotated[str, typer.Option("--ci-kind", help="ETI or HDI.")] = CI_KIND,
    ci_prob: Annotated[float, typer.Option("--ci-prob", help="Interval mass.")] = CI_PROB,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing --out file.")
    ] = False,
    table: Annotated[
        str,
        typer.Option(
            "--table",
            help="latex: headline (the cited quantities) or full (every quantity "
            "with diagnostics, and the probabilities).",
        ),
    ] = "headline",
    width: Annotated[
        str,
        typer.Option(
            "--width", help="latex: text (one-column paper) or column (one column of two)."
        ),
    ] = "text",
    quantities: Annotated[
        str | None,
        typer.Option(
            "--quantities",
            help="latex: the headline rows, e.g. "
            "'unique_users[2013-05-28],real_user_share' (default: the README's eight).",
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out-dir",
            help="latex: write table.tex, supplement.tex, sentence.tex and methods.tex here.",
        ),
    ] = None,
    structural_range: StructuralOpt = None,
) -> None:
    """Print or write the report of a run (md, latex, html, csv or json).

    Headline table with MCSE-backed digits, probabilities and provenance. With
    --format latex: the paper's headline table (--table full: the supplement);
    with --out-dir the four LaTeX snippets (preamble: booktabs, tabularx,
    longtable).
    """
    from bayes_koryo.outputs import latex

    _check_report_options(fmt, out, table, width, quantities, out_dir)
    if out is not None:  # refuse before the work
        check_output_file_before_work(out, force)
    if out_dir is not None:
        for name in latex.SNIPPETS:
            check_output_file_before_work(out_dir / name, force)
        rep = _load_report(run, ci_kind, ci_prob, structural_range)
        wanted = latex.parse_quantities(quantities)
        for path in latex.write_snippets(rep, out_dir, wanted, width, overwrite=force):
            typer.echo(f"wrote {path}", err=True)
        return
    if fmt == "latex":
        rep = _load_report(run, ci_kind, ci_prob, structural_range)
        text = latex.snippet(rep, table, latex.parse_quantities(quantities), width)
    elif fmt == "html":  # one self-contained page with every figure
        from bayes_koryo.outputs.webpage import page, report_figures

        model, rep = load_model_and_report(run, ci_kind, ci_prob, structural_range)
        text = page(rep, report_figures(model))
    else:
        text = _report_text(run, fmt, ci_kind, ci_prob, structural_range)
    if out is None:
        sys.stdout.write(text)
    else:
        write_text_output(out, text, overwrite=force)
        typer.echo(f"wrote {out}", err=True)


def _check_report_options(
    fmt: str, out: Path | None, table: str, width: str, quantities: str | None, out_dir: Path | None
) -> None:
    """Raise a ConfigError for options of ``report`` that do not go together."""
    from bayes_koryo.outputs import latex

    latex_only = {
        "--table": table != "headline",
        "--width": width != "text",
        "--quantities": quantities is not None,
        "--out-dir": out_dir is not None,
    }
    if fmt != "latex" and any(latex_only.values()):
        raise config_error(
            f"{', '.join(k for k, v in latex_only.items() if v)}: only with --format latex"
        )
    if out is not None and out_dir is not None:
        raise config_error("--out and --out-dir: give one of them")
    if table not in latex.TABLES or width not in latex.WIDTHS:
        raise config_error(
            f"--table: one of {', '.join(latex.TABLES)}; --width: one of "
            f"{', '.join(latex.WIDTHS)} (got {table!r}, {width!r})"
        )


def _report_text(
    run: Path, fmt: str, ci_kind: str, ci_prob: float = CI_PROB, structural: Path | None = None
) -> str:
    from bayes_koryo.outputs import report as rep

    if fmt not in rep.TEXT_FORMATS:
        raise config_error(
            f"--format: expected one of {', '.join(rep.REPORT_FORMATS)}, got {fmt!r}"
        )
    return rep.render(_load_report(run, ci_kind, ci_prob, structural), fmt)


def _load_report(
    run: Path, ci_kind: str, ci_prob: float = CI_PROB, structural: Path | None = None
) -> Report:
    """Return the Report of a run file (warns on stderr when the run did not converge)."""
    return load_model_and_report(run, ci_kind, ci_prob, structural)[1]


@app.command()
def forecast(
    run: Annotated[Path, typer.Argument(help="Run file written by 'fit'.")],
    date: Annotated[
        list[str],
        typer.Option("--date", help="YYYY-MM-DD, launch < date <= horizon; repeat for several."),
    ],
    fmt: Annotated[str, typer.Option("--format", "-f", help="json or md.")] = "json",
    ci_kind: Annotated[str, typer.Option("--ci-kind", help="ETI or HDI.")] = CI_KIND,
    ci_prob: Annotated[float, typer.Option("--ci-prob", help="Interval mass.")] = CI_PROB,
) -> None:
    """Forecast reported subscriptions and unique users at any date up to the model's horizon.

    Summaries of their posterior predictive, with the fields of the JSON report.
    """
    from bayes_koryo.inference.fit import load_run
    from bayes_koryo.outputs import report as rep

    check_interval(ci_kind, ci_prob)
    if fmt not in ("json", "md"):
        raise config_error(f"--format: expected json or md, got {fmt!r}")
    dates = []
    for text in date:
        try:
            dates.append(pd.Timestamp(dt.date.fromisoformat(text.strip())))
        except ValueError:
            raise config_error(f"--date: expected YYYY-MM-DD, got {text!r}") from None
    model = load_run(run)
    table = rep.forecast_table(model, dates, prob=ci_prob, kind=ci_kind.upper())
    sys.stdout.write(
        rep.to_json(table)
        if fmt == "json"
        else rep.forecast_markdown(table, dict(fitted_run(model)[0].attrs))
    )
