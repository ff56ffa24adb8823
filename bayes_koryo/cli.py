"""The ``bayes-koryo`` command line.

Commands: ``data`` (show the validated observations), ``cite`` (BibTeX for the package and
every data source), ``fit``, ``run``, ``report`` (md, latex, html, csv, json), ``plot``
(publication figures), ``forecast`` (any date up to the horizon), ``check``,
``sensitivity-table`` (power-scaling, contraction, overlap of a run), ``sensitivity`` (model
variants, tornado chart), ``lfo`` (leave-future-out), ``sbc`` (simulation-based calibration)
and ``recovery`` (parameter recovery). Global option:
``--debug`` (show tracebacks), given before the command.

Exit codes:

* 0 - success;
* 1 - internal error (a bug: ``error: internal error: <type>: <msg>``); for ``check``: a
  threshold failed, and for ``sbc``: a test quantity's rank ECDF left its simultaneous 95%
  band (both :class:`~bayes_koryo.errors.ThresholdError`);
* 2 - bad input, configuration or file (any :class:`~bayes_koryo.errors.KoryoError` with
  that code, and command-line usage errors);
* 3 - ``fit``/``run``: sampling diagnostics failed
  (:class:`~bayes_koryo.errors.ConvergenceError`);
* 130 - interrupted.

Every failure prints exactly one line ``error: <message>`` to stderr; ``--debug`` adds the
traceback. All of this lives in :func:`main`; commands just raise ``KoryoError``s.

Adding a command: decorate a function with ``@app.command()``, import heavy modules (the model)
inside it so that ``data``/``cite`` stay fast, raise a ``KoryoError`` subclass for anything the
user can fix, and print tabular results with :func:`print_frame`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import sys
import traceback
import unicodedata
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from bayes_koryo import __version__
from bayes_koryo.data import load_demography, load_observations
from bayes_koryo.errors import KoryoError

PROG = "bayes-koryo"

app = typer.Typer(
    name=PROG,
    help="Bayesian estimate of the unique people behind Koryolink's reported subscriber counts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class _State:
    """Options of the root callback, readable from :func:`main` after a failure."""

    debug = False


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
    """A JSON-ready Python value: None for missing, ISO strings for dates."""
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

        def cell(value: object) -> str:
            text = _text(value).replace("\\", "\\\\").replace("|", "\\|")
            return re.sub(r"\r\n|\r|\n", "<br>", text)

        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(cell(v) for v in rec.values()) + " |" for rec in records]
        return "\n".join(lines) + "\n"
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


# --------------------------------------------------------------------------- commands


def _version(value: bool) -> None:
    if value:
        typer.echo(f"{PROG} {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of any error.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Bayesian estimate of the unique people behind Koryolink's reported subscriber counts."""
    _State.debug = debug


DataOption = Annotated[
    Path | None,
    typer.Option("--data", metavar="FILE", help="Observations CSV (default: the bundled data)."),
]


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


# --------------------------------------------------------------------------- model commands

ConfigArg = Annotated[Path, typer.Argument(help="Model config TOML, e.g. models/baseline.toml.")]


def _fit_and_save(config: Path, out: Path, data: Path | None, seed: int | None,
                  draws: int | None, tune: int | None, chains: int | None, force: bool,
                  progress: bool):
    from bayes_koryo.atomic import check_output_file
    from bayes_koryo.inference import KoryoModel

    check_output_file(out, overwrite=force)  # before reading data or compiling
    model = KoryoModel(config, load_observations(data) if data else None)
    typer.echo(f"fitting {model.config.name}: {len(model.observations)} observations, "
               f"growth {model.config.growth_form}", err=True)
    model.fit(seed=seed, draws=draws, tune=tune, chains=chains, progress=progress)
    model.sample_prior_predictive()
    model.sample_posterior_predictive()
    model.save(out, overwrite=force)
    summary = model.diagnostics.summary()
    typer.echo(f"wrote {out}: divergences {summary['divergences']}, max R-hat "
               f"{summary['max_r_hat']:.3f}, min ESS bulk {summary['min_ess_bulk']:.0f}, "
               f"min ESS tail {summary['min_ess_tail']:.0f}", err=True)
    return model


def _gate(model, allow_unconverged: bool) -> None:
    from bayes_koryo.errors import ConvergenceError

    if model.diagnostics.converged:
        return
    failures = model.diagnostics.messages
    for line in failures:
        typer.echo(f"warning: {line}", err=True)
    draws = model.idata.attrs.get("draws")
    if model.diagnostics.short_of_draws_only and draws:
        typer.echo(f"hint: only effective sample sizes are short; refit with more draws "
                   f"(e.g. --draws {2 * int(draws)})", err=True)
    if not allow_unconverged:
        raise ConvergenceError(f"{len(failures)} diagnostic check(s) failed (first: "
                               f"{failures[0]}); the run is saved and marked unconverged")


@app.command()
def fit(
    config: ConfigArg,
    out: Annotated[Path, typer.Option("--out", help="Run file to write (netCDF).")],
    data: Annotated[Path | None, typer.Option("--data", help="Observations CSV.")] = None,
    seed: Annotated[int | None, typer.Option(help="Integer seed (default: config).")] = None,
    draws: Annotated[int | None, typer.Option(help="Draws per chain.")] = None,
    tune: Annotated[int | None, typer.Option(help="Warm-up draws per chain.")] = None,
    chains: Annotated[int | None, typer.Option(help="Number of chains.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing run.")] = False,
    allow_unconverged: Annotated[bool, typer.Option(
        "--allow-unconverged", help="Exit 0 even when diagnostics fail.")] = False,
    progress: Annotated[bool, typer.Option(help="Show the sampler's progress bar.")] = True,
) -> None:
    """Fit a model config to the observations and save the run (exit 3 if unconverged)."""
    model = _fit_and_save(config, out, data, seed, draws, tune, chains, force, progress)
    _gate(model, allow_unconverged)


@app.command()
def report(
    run: Annotated[Path, typer.Argument(help="Run file written by 'fit'.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="md, latex, html, csv or json."
                                     )] = "md",
    out: Annotated[Path | None, typer.Option("--out", help="Write here (default: stdout).")
                   ] = None,
    ci_kind: Annotated[str, typer.Option("--ci-kind", help="ETI or HDI.")] = "ETI",
    ci_prob: Annotated[float, typer.Option("--ci-prob", help="Interval mass.")] = 0.9,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing --out file."
                                        )] = False,
    table: Annotated[str, typer.Option(
        "--table", help="latex: headline (the cited quantities) or full (every quantity "
        "with diagnostics, and the probabilities).")] = "headline",
    width: Annotated[str, typer.Option(
        "--width", help="latex: text (one-column paper) or column (one column of two).")
                     ] = "text",
    quantities: Annotated[str | None, typer.Option(
        "--quantities", help="latex: the headline rows, e.g. "
        "'unique_users[2013-05-28],real_user_share' (default: the README's eight).")] = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out-dir", help="latex: write table.tex, supplement.tex, sentence.tex and "
        "methods.tex here.")] = None,
) -> None:
    """Headline table with MCSE-backed digits, probabilities and provenance. With
    --format latex: the paper's headline table (--table full: the supplement); with
    --out-dir the four LaTeX snippets (preamble: booktabs, tabularx, longtable)."""
    from bayes_koryo import latex

    latex_only = {"--table": table != "headline", "--width": width != "text",
                  "--quantities": quantities is not None, "--out-dir": out_dir is not None}
    if fmt != "latex" and any(latex_only.values()):
        raise _config_error(f"{', '.join(k for k, v in latex_only.items() if v)}: only with "
                            "--format latex")
    if out is not None and out_dir is not None:
        raise _config_error("--out and --out-dir: give one of them")
    if table not in latex.TABLES or width not in latex.WIDTHS:
        raise _config_error(f"--table: one of {', '.join(latex.TABLES)}; --width: one of "
                            f"{', '.join(latex.WIDTHS)} (got {table!r}, {width!r})")
    if out is not None:  # refuse before the work
        _check_output_file(out, force)
    if out_dir is not None:
        for name in latex.SNIPPETS:
            _check_output_file(out_dir / name, force)
        rep = _load_report(run, ci_kind, ci_prob)
        for path in latex.write_snippets(rep, out_dir, latex.parse_quantities(quantities),
                                         width, overwrite=force):
            typer.echo(f"wrote {path}", err=True)
        return
    if fmt == "latex":
        text = latex.snippet(_load_report(run, ci_kind, ci_prob), table,
                             latex.parse_quantities(quantities), width)
    elif fmt == "html":  # one self-contained page with every figure
        from bayes_koryo.webpage import page, report_figures

        model, rep = _load_model_and_report(run, ci_kind, ci_prob)
        text = page(rep, report_figures(model))
    else:
        text = _report_text(run, fmt, ci_kind, ci_prob)
    if out is None:
        sys.stdout.write(text)
    else:
        _write_atomic(out, text, overwrite=force)
        typer.echo(f"wrote {out}", err=True)


def _report_text(run: Path, fmt: str, ci_kind: str, ci_prob: float = 0.9) -> str:
    from bayes_koryo import report as rep

    if fmt not in rep.TEXT_FORMATS:
        raise _config_error(f"--format: expected one of {', '.join(rep.REPORT_FORMATS)}, "
                            f"got {fmt!r}")
    return rep.render(_load_report(run, ci_kind, ci_prob), fmt)


def _load_report(run: Path, ci_kind: str, ci_prob: float = 0.9):
    """The Report of a run file (warns on stderr when the run did not converge)."""
    return _load_model_and_report(run, ci_kind, ci_prob)[1]


def _load_model_and_report(run: Path, ci_kind: str, ci_prob: float = 0.9):
    """(model, Report) of a run file (warns on stderr when the run did not converge)."""
    from bayes_koryo import report as rep
    from bayes_koryo.runs import load_run

    _check_interval(ci_kind, ci_prob)
    model = load_run(run)
    if not model.diagnostics.converged:
        typer.echo(f"warning: {run} did not pass the convergence checks; do not cite its "
                   "numbers", err=True)
    return model, rep.build_report(model, prob=ci_prob, kind=ci_kind.upper())


def _config_error(message: str):
    from bayes_koryo.errors import ConfigError

    return ConfigError(message)


def _check_interval(ci_kind: str, ci_prob: float) -> None:
    from bayes_koryo.report import CI_KINDS

    if ci_kind.upper() not in CI_KINDS:
        raise _config_error(f"--ci-kind: expected ETI or HDI, got {ci_kind!r}")
    if not 0 < ci_prob < 1:
        raise _config_error(f"--ci-prob: expected a mass between 0 and 1, got {ci_prob}")


def _write_atomic(path: Path, text: str, overwrite: bool = True) -> None:
    """Write a text output atomically (see bayes_koryo.atomic); refuse to replace an
    existing file unless ``overwrite``."""
    from bayes_koryo.atomic import atomic_write_text

    try:
        atomic_write_text(path, text, overwrite=overwrite)
    except FileExistsError:
        raise _exists_error(path) from None


def _check_output_file(path: Path, overwrite: bool) -> None:
    from bayes_koryo.atomic import check_output_file

    check_output_file(path, overwrite=overwrite)


def _check_output_dir(path: Path) -> None:
    from bayes_koryo.atomic import check_output_dir

    check_output_dir(path)


def _exists_error(path: Path):
    from bayes_koryo.errors import ResultFileError

    return ResultFileError(f"{path}: exists already (use --force to overwrite)")


@app.command()
def run(
    config: ConfigArg,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for the run and report.")
                       ] = Path("runs"),
    seed: Annotated[int | None, typer.Option(help="Integer seed (default: config).")] = None,
    allow_unconverged: Annotated[bool, typer.Option("--allow-unconverged")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite an existing run and report.")] = False,
) -> None:
    """The main job: fit CONFIG on the bundled data, write OUT_DIR/NAME.nc, NAME_report.md,
    the self-contained page NAME_report.html and the figures NAME_*.png / NAME_*.pdf."""
    from bayes_koryo.config import load_config
    from bayes_koryo.report import render
    from bayes_koryo.webpage import page, report_figures

    name = load_config(config).name
    nc = out_dir / f"{name}.nc"
    md = out_dir / f"{name}_report.md"
    web = out_dir / f"{name}_report.html"
    for path in (nc, md, web):  # before fitting, not after
        _check_output_file(path, force)
    _fit_and_save(config, nc, None, seed, None, None, None, force, True)
    model, rep = _load_model_and_report(nc, "ETI")
    _write_atomic(md, render(rep, "md"), overwrite=force)
    _write_atomic(web, page(rep, report_figures(model)), overwrite=force)
    for path in (md, web):
        typer.echo(f"wrote {path}", err=True)
    _write_figures(model, out_dir, f"{name}_")
    _gate(model, allow_unconverged)


@app.command()
def check(run: Annotated[Path, typer.Argument(help="Run file written by 'fit'.")]) -> None:
    """Exit 0 only when the run passes the convergence gate and every reported figure lies in
    its 90% posterior predictive interval
    (exit 1, listing what failed, otherwise)."""
    from bayes_koryo.checks import posterior_predictive_table
    from bayes_koryo.errors import ThresholdError
    from bayes_koryo.runs import load_run

    model = load_run(run)
    failures = list(model.diagnostics.messages)
    if "posterior_predictive" not in model.idata.children:
        model.sample_posterior_predictive()
    ppc = posterior_predictive_table(model)
    for row in ppc[~ppc["inside_90"]].itertuples():
        failures.append(f"{row.kind} {row.date}: reported {row.reported:.4g} outside its 90% "
                        f"posterior predictive interval [{row.pp_90_low:.4g}, "
                        f"{row.pp_90_high:.4g}]")
    typer.echo(f"posterior predictive coverage: 50% {ppc['inside_50'].mean():.2f}, "
               f"90% {ppc['inside_90'].mean():.2f} ({len(ppc)} reported figures)")
    from bayes_koryo.report import diagnostics_line

    typer.echo(diagnostics_line({"diagnostics_json": json.dumps(model.diagnostics.summary()),
                                 **{k: v for k, v in model.idata.attrs.items()
                                    if k != "diagnostics_json"}}))
    for line in failures:
        typer.echo(f"FAIL: {line}")
    if failures:
        raise ThresholdError(f"{run}: {len(failures)} check(s) failed")
    typer.echo("all checks passed")


# --------------------------------------------------------------------------- publication commands


def _write_figures(model, out_dir: Path, prefix: str = "") -> None:
    from bayes_koryo.plots import write_figures

    for path in write_figures(model, out_dir, prefix=prefix):
        typer.echo(f"wrote {path}", err=True)


@app.command()
def plot(
    run: Annotated[Path, typer.Argument(help="Run file written by 'fit'.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the figures.")] = Path("."),
) -> None:
    """Write the publication figures (trajectory, decomposition, prior vs posterior,
    posterior predictive check) as PNG and PDF."""
    from bayes_koryo.runs import load_run

    _check_output_dir(out)
    _write_figures(load_run(run), out, f"{run.stem}_")


@app.command()
def forecast(
    run: Annotated[Path, typer.Argument(help="Run file written by 'fit'.")],
    date: Annotated[list[str], typer.Option("--date", help="YYYY-MM-DD, launch < date <= "
                                            "horizon; repeat for several.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="json or md.")] = "json",
    ci_kind: Annotated[str, typer.Option("--ci-kind", help="ETI or HDI.")] = "ETI",
    ci_prob: Annotated[float, typer.Option("--ci-prob", help="Interval mass.")] = 0.9,
) -> None:
    """Posterior predictive of reported subscriptions and unique users at any date up to the
    model's horizon (fields as in the JSON report)."""
    from bayes_koryo import report as rep
    from bayes_koryo.runs import load_run

    _check_interval(ci_kind, ci_prob)
    if fmt not in ("json", "md"):
        raise _config_error(f"--format: expected json or md, got {fmt!r}")
    dates = []
    for text in date:
        try:
            dates.append(pd.Timestamp(dt.date.fromisoformat(text.strip())))
        except ValueError:
            raise _config_error(f"--date: expected YYYY-MM-DD, got {text!r}") from None
    model = load_run(run)
    table = rep.forecast_table(model, dates, prob=ci_prob, kind=ci_kind.upper())
    sys.stdout.write(rep.to_json(table) if fmt == "json"
                     else rep.forecast_markdown(table, dict(model.idata.attrs)))


# --------------------------------------------------------------------------- sensitivity

ModelsArg = Annotated[list[Path] | None, typer.Argument(
    help="Model TOMLs (default: every models/*.toml).")]
SchedulerOpt = Annotated[str | None, typer.Option(
    "--scheduler", help="Dask scheduler address tcp://host:port (default: local processes).")]
WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", help="Local worker processes (default: all cores; 1: this process).")]


def _model_paths(models: list[Path] | None) -> list[Path]:
    paths = list(models) if models else sorted(Path("models").glob("*.toml"))
    if not paths:
        raise _config_error("no model TOMLs given and none in ./models")
    return paths


def _sweep_settings(seed, draws, tune, chains):
    from bayes_koryo.sensitivity import VariantSettings

    return VariantSettings(seed=seed, draws=draws, tune=tune, chains=chains)


@app.command("sensitivity-table")
def sensitivity_table_command(
    run: Annotated[Path, typer.Argument(help="Run file written by 'fit'.")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write OUT.csv, OUT.json and OUT.md (default: print markdown).")] = None,
) -> None:
    """Power-scaling sensitivity, contraction and prior/posterior overlap of every free
    parameter and headline quantity of a fitted run (thresholds: bayes_koryo.sensitivity)."""
    from bayes_koryo import sensitivity as sens
    from bayes_koryo.runs import load_run

    if out is not None:
        _check_output_dir(out.parent)
    model = load_run(run)
    table = sens.sensitivity_table(model)
    meta = {"run": str(run), "run_id": model.idata.attrs.get("run_id"),
            "seed": int(model.idata.attrs["seed"]),
            "prior_seed": int(table["prior_seed"].iloc[0])}
    if out is None:
        sys.stdout.write(sens.to_markdown(table, notes=sens.SENSITIVITY_NOTES))
        return
    for path in sens.write_table(table, out, f"Sensitivity of {run.name}",
                                 sens.SENSITIVITY_NOTES, meta):
        typer.echo(f"wrote {path}", err=True)


@app.command("sensitivity")
def sensitivity_command(
    models: ModelsArg = None,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for the table and chart."
                                          )] = Path("runs/sensitivity"),
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    seed: Annotated[int | None, typer.Option(help="Integer seed (default: each config's).")
                    ] = None,
    draws: Annotated[int | None, typer.Option(help="Draws per chain (default: config).")] = None,
    tune: Annotated[int | None, typer.Option(help="Warm-up draws per chain.")] = None,
    chains: Annotated[int | None, typer.Option(help="Number of chains.")] = None,
) -> None:
    """Fit every model variant (growth forms, priors, left-out figures) and write
    OUT_DIR/variants.csv|json|md and the tornado chart OUT_DIR/tornado.png|pdf (U(May 2013),
    U/S, penetration 10+ relative to the variant named 'baseline')."""
    from bayes_koryo import sensitivity as sens

    _check_output_dir(out_dir)
    paths = _model_paths(models)
    table = sens.run_variants(paths, _sweep_settings(seed, draws, tune, chains),
                              scheduler=scheduler, workers=workers)
    meta = {"models": [str(p) for p in paths], "seeds": sorted(set(table["seed"].tolist()))}
    for path in sens.write_variants(table, out_dir, meta):
        typer.echo(f"wrote {path}", err=True)
    bad = table.loc[~table["converged"], "variant"].tolist()
    if bad:
        typer.echo(f"warning: unconverged variants (marked in the table): {', '.join(bad)}",
                   err=True)


@app.command("lfo")
def lfo_command(
    models: ModelsArg = None,
    cutoff: Annotated[list[str] | None, typer.Option(
        "--cutoff", help="YYYY-MM-DD: fit on data up to this date; repeat for several "
        "(default: 2010-12-31, 2011-06-30, 2011-09-30, 2012-02-29).")] = None,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for the tables.")
                       ] = Path("runs/lfo"),
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    seed: Annotated[int | None, typer.Option(help="Integer seed (default: each config's).")
                    ] = None,
    draws: Annotated[int | None, typer.Option(help="Draws per chain (default: config).")] = None,
    tune: Annotated[int | None, typer.Option(help="Warm-up draws per chain.")] = None,
    chains: Annotated[int | None, typer.Option(help="Number of chains.")] = None,
) -> None:
    """Leave-future-out: refit each model on the figures up to each cut-off and score every
    later reported subscriber figure (log predictive density, 50%/90% coverage); writes
    OUT_DIR/lfo_scores.* (one row per figure) and OUT_DIR/lfo_summary.* (per model)."""
    from bayes_koryo import lfo

    _check_output_dir(out_dir)
    paths = list(models) if models else [Path("models") / f"{n}.toml" for n in
                                         ("baseline", "growth_logistic", "growth_gompertz")]
    cutoffs = []
    for text in cutoff or lfo.DEFAULT_CUTOFFS:
        try:
            cutoffs.append(dt.date.fromisoformat(text.strip()).isoformat())
        except ValueError:
            raise _config_error(f"--cutoff: expected YYYY-MM-DD, got {text!r}") from None
    scores, summary = lfo.run_lfo(paths, cutoffs, _sweep_settings(seed, draws, tune, chains),
                                  scheduler=scheduler, workers=workers)
    for path in lfo.write_lfo(scores, summary, out_dir,
                              {"models": [str(p) for p in paths], "cutoffs": cutoffs}):
        typer.echo(f"wrote {path}", err=True)


# --------------------------------------------------------------------------- validation


def _sbc_run(config: Path, simulations: int, draws, tune, chains, thin, seed, scheduler,
             workers, partial_dir: Path | None = None):
    from bayes_koryo import sbc

    settings = {k: v if v is not None else sbc.SBC_SETTINGS[k]
                for k, v in (("draws", draws), ("tune", tune), ("chains", chains),
                             ("thin", thin))}
    seed = sbc.SBC_SEED if seed is None else seed
    typer.echo(f"{simulations} simulations of {config}: {settings['chains']} chains x "
               f"{settings['draws']} draws after {settings['tune']} warm-up, thinned by >= "
               f"{settings['thin']}, seed {seed}", err=True)

    def progress(done: int, total: int) -> None:
        typer.echo(f"  {done}/{total} simulations done", err=True)

    return sbc.run_sbc(config, simulations=simulations, seed=seed, scheduler=scheduler,
                       workers=workers, progress=progress, partial_dir=partial_dir,
                       **settings)


SimulationsOpt = Annotated[int, typer.Option("--simulations", help="Number of simulated "
                                             "data sets (each fitted once).")]
SbcSeedOpt = Annotated[int | None, typer.Option(
    help="Integer master seed (default: bayes_koryo.sbc.SBC_SEED).")]
SbcDrawsOpt = Annotated[int | None, typer.Option(help="Draws per chain (default: "
                                                 "bayes_koryo.sbc.SBC_SETTINGS).")]
SbcTuneOpt = Annotated[int | None, typer.Option(help="Warm-up draws per chain.")]
SbcChainsOpt = Annotated[int | None, typer.Option(help="Chains per fit.")]
SbcThinOpt = Annotated[int | None, typer.Option(help="Minimum thinning of the ranked draws.")]


@app.command("sbc")
def sbc_command(
    config: ConfigArg,
    simulations: SimulationsOpt = 200,
    draws: SbcDrawsOpt = None,
    tune: SbcTuneOpt = None,
    chains: SbcChainsOpt = None,
    thin: SbcThinOpt = None,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for the outputs.")
                       ] = Path("runs/sbc"),
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    seed: SbcSeedOpt = None,
) -> None:
    """Simulation-based calibration: fit CONFIG to data simulated from its prior and check
    that the ranks of the true values are uniform (every free parameter, the log-likelihood,
    U(May 2013)). Writes OUT_DIR/sbc_table.csv|json, sbc_ecdf.png|pdf, sbc_ranks.nc and
    recovery_table.csv|json (OUT_DIR/partial/: the same for the simulations finished so far,
    every 10); exit 1 when a quantity's rank ECDF leaves its simultaneous 95% band."""
    from bayes_koryo import sbc
    from bayes_koryo.errors import ThresholdError

    _check_output_dir(out_dir)
    result = _sbc_run(config, simulations, draws, tune, chains, thin, seed, scheduler, workers,
                      partial_dir=out_dir / "partial")
    for path in sbc.write_outputs(result, out_dir):
        typer.echo(f"wrote {path}", err=True)
    shown = result.table[["quantity", "pass", "band_ratio", "p_value_pot_c",
                          "pass_familywise", "ranked_draws_median"]].copy()
    for column in ("pass", "pass_familywise"):
        shown[column] = shown[column].map({True: "yes", False: "NO"})
    shown["band_ratio"] = shown["band_ratio"].round(2)
    shown["p_value_pot_c"] = shown["p_value_pot_c"].round(3)
    print_frame(shown, title=f"SBC: {simulations} simulations, {result.seconds:.0f} s "
                "(band_ratio: max |ECDF - x| / band half-width; > 1 fails)")
    counts = sbc.fit_quality_counts(result.tree["simulations"])
    typer.echo(f"{counts['fits_failing_the_gate']} of {counts['fits']} fits failed the "
               f"convergence gate ({counts['divergent_fits']} with divergences, "
               f"{counts['fits_r_hat_above_1.01']} with R-hat > 1.01); all are ranked")
    if not result.passed:
        raise ThresholdError(f"sbc: {len(result.failed)} of {len(result.table)} test "
                             f"quantities outside their simultaneous 95% band: "
                             f"{', '.join(result.failed)}")
    typer.echo("all test quantities inside their simultaneous 95% bands")


@app.command("recovery")
def recovery_command(
    config: ConfigArg,
    simulations: SimulationsOpt = 50,
    draws: SbcDrawsOpt = None,
    tune: SbcTuneOpt = None,
    chains: SbcChainsOpt = None,
    thin: SbcThinOpt = None,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for the outputs.")
                       ] = Path("runs/recovery"),
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    seed: SbcSeedOpt = None,
) -> None:
    """Parameter recovery: fit CONFIG to data simulated from known parameter values drawn
    across the prior; per free parameter and U(May 2013) the coverage of the 50% and 90% ETIs
    (binomial MC error), correlation of posterior median and truth, and contraction. Writes
    OUT_DIR/recovery_table.csv|json and sbc_ranks.nc (every truth and posterior summary)."""
    from bayes_koryo import sbc

    _check_output_dir(out_dir)
    result = _sbc_run(config, simulations, draws, tune, chains, thin, seed, scheduler, workers)
    for path in sbc.write_outputs(result, out_dir, parts=("ranks", "recovery")):
        typer.echo(f"wrote {path}", err=True)
    print_frame(result.recovery.drop(columns=["master_seed"]).round(3),
                title=f"Recovery: {simulations} simulations (intervals: ETI; MC error: "
                "binomial sd at the nominal coverage)")


# --------------------------------------------------------------------------- BibTeX

_BIB_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_YEAR = re.compile(r"(?<![0-9])(?:19[5-9][0-9]|20[0-9]{2})(?![0-9])")
_STOPWORDS = {"a", "an", "and", "as", "by", "for", "in", "of", "on", "the", "to", "via"}


def bib_escape(text: str) -> str:
    """Escape LaTeX/BibTeX special characters in a text field (braces stay balanced)."""
    text = re.sub(r"\s+", " ", text).strip()
    return "".join(_BIB_SPECIAL.get(ch, ch) for ch in text)


def bib_url(url: str) -> str:
    """A URL for a ``url`` field or ``\\url{}``: verbatim except %, #, braces and spaces."""
    url = re.sub(r"[{}\s]", lambda m: f"%{ord(m.group()):02X}", url.strip())
    return url.replace("%", r"\%").replace("#", r"\#")


def _bib_key(text: str, year: str, taken: set[str]) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = [w for w in re.findall(r"[a-z0-9]+", ascii_text.lower()) if w not in _STOPWORDS]
    stem = "-".join(words[:4]) or "source"
    if not stem[0].isalpha():
        stem = f"source-{stem}"
    if year and year not in words[:4]:
        stem = f"{stem}-{year}"
    key, n = stem, 1
    while key in taken:
        n += 1
        key = f"{stem}-{n}"
    taken.add(key)
    return key


def _entry(kind: str, key: str, fields: dict[str, str]) -> str:
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields.items() if value)
    return f"@{kind}{{{key},\n{body},\n}}\n"


def bibtex(observations: pd.DataFrame, demography: pd.DataFrame) -> str:
    """BibTeX: one ``@software`` entry for bayes_koryo, one ``@misc`` per (source, url).

    Years come from the source text (first year named) or else the latest date it supports.
    """
    uses: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for rec in observations.itertuples(index=False):
        what = f"{rec.quantity} on {rec.date:%Y-%m-%d} ({rec.kind})"
        uses.setdefault((rec.source, rec.url), []).append((f"{rec.date:%Y}", what))
    for quantity, rec in demography.iterrows():
        uses.setdefault((rec["source"], rec["url"]), []).append((rec["date"][:4], str(quantity)))

    taken = {"bayes_koryo"}
    entries = [
        _entry(
            "software",
            "bayes_koryo",
            {
                "title": "{bayes\\_koryo}: a {Bayesian} model of unique {Koryolink} mobile users "
                "in {North Korea}",
                "author": "{bayes\\_koryo developers}",
                "year": "2026",
                "version": bib_escape(__version__),
                "note": "Python package; data from the sources listed in the bundled CSV files",
            },
        )
    ]
    for (source, url), used in uses.items():
        found = _YEAR.search(source)
        year = found.group(0) if found else max(y for y, _ in used)
        key = _bib_key(source, year, taken)
        entries.append(
            _entry(
                "misc",
                key,
                {
                    "title": "{" + bib_escape(source) + "}",
                    "year": year,
                    "url": bib_url(url) if url else "",
                    "howpublished": f"\\url{{{bib_url(url)}}}" if url else "as cited in the data",
                    "note": bib_escape(
                        "Data source of bayes_koryo for " + "; ".join(w for _, w in used)
                    ),
                },
            )
        )
    return "\n".join(entries)


# --------------------------------------------------------------------------- entry point


def _one_line(message: str) -> str:
    return re.sub(r"\s*[\r\n]+\s*", " ", message).strip()


def _framework_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(usage/CLI error types, abort types) of typer, and of click when typer still uses it."""
    errors: list[type[BaseException]] = []
    aborts: list[type[BaseException]] = [KeyboardInterrupt]
    if hasattr(typer, "TyperException"):  # typer >= 0.22 vendors click
        errors.append(typer.TyperException)
    aborts.append(typer.Abort)
    try:
        import click
    except ImportError:  # pragma: no cover
        pass
    else:
        errors.append(click.ClickException)
        aborts.append(click.Abort)
    return tuple(errors), tuple(aborts)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default ``sys.argv[1:]``) and return the exit code.

    The one place where errors become messages: a ``KoryoError`` prints
    ``error: <message>`` and returns its ``exit_code``; usage errors return 2; anything
    else is an internal error (1). ``--debug`` adds the traceback.
    """
    _State.debug = False
    cli_errors, aborts = _framework_errors()
    args = list(sys.argv[1:] if argv is None else argv)
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name=PROG, standalone_mode=False)
        return result if type(result) is int else 0
    except KoryoError as exc:
        if _State.debug:
            traceback.print_exc()
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except cli_errors as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `bayes-koryo`: show the help
            sys.stdout.write(exc.format_message() + "\n")
            return 0
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        print(f"error: {_one_line(exc.format_message())}{hint}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except aborts:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if _State.debug:
            traceback.print_exc()
        print(
            f"error: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
            "(rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
