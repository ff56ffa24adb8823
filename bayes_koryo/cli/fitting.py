"""``fit``, ``run``, ``check`` and ``plot``: fit a config, gate it, check and draw a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bayes_koryo.cli.common import (
    ConfigArg,
    QuietOpt,
    StructuralOpt,
    app,
    check_output_dir_before_work,
    check_output_file_before_work,
    fitted_run,
    load_model_and_report,
    show_progress,
    write_text_output,
)
from bayes_koryo.data import load_observations

if TYPE_CHECKING:
    from bayes_koryo.inference.fit import KoryoModel


def _fit_and_save(
    config: Path,
    out: Path,
    data: Path | None,
    seed: int | None,
    draws: int | None,
    tune: int | None,
    chains: int | None,
    force: bool,
    progress: bool,
) -> KoryoModel:
    from bayes_koryo.atomic import check_output_file
    from bayes_koryo.inference.fit import KoryoModel

    check_output_file(out, overwrite=force)  # before reading data or compiling
    model = KoryoModel(config, load_observations(data) if data else None)
    typer.echo(
        f"fitting {model.config.name}: {len(model.observations)} observations, "
        f"growth {model.config.growth_form}",
        err=True,
    )
    model.fit(seed=seed, draws=draws, tune=tune, chains=chains, progress=progress)
    model.sample_prior_predictive()
    model.sample_posterior_predictive()
    model.save(out, overwrite=force)
    summary = fitted_run(model)[1].summary()
    typer.echo(
        f"wrote {out}: divergences {summary['divergences']}, max R-hat "
        f"{summary['max_r_hat']:.3f}, min ESS bulk {summary['min_ess_bulk']:.0f}, "
        f"min ESS tail {summary['min_ess_tail']:.0f}",
        err=True,
    )
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
        typer.echo(
            f"hint: only effective sample sizes are short; refit with more draws "
            f"(e.g. --draws {2 * int(draws)})",
            err=True,
        )
    if not allow_unconverged:
        raise ConvergenceError(
            f"{len(failures)} diagnostic check(s) failed (first: "
            f"{failures[0]}); the run is saved and marked unconverged"
        )


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
    allow_unconverged: Annotated[
        bool, typer.Option("--allow-unconverged", help="Exit 0 even when diagnostics fail.")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show the sampler's progress bar.")] = True,
) -> None:
    """Fit a model config to the observations and save the run (exit 3 if unconverged)."""
    model = _fit_and_save(
        config, out, data, seed, draws, tune, chains, force, progress and show_progress(False)
    )
    _gate(model, allow_unconverged)


@app.command()
def run(
    config: ConfigArg,
    out_dir: Annotated[
        Path, typer.Option("--out-dir", help="Folder for the run and report.")
    ] = Path("runs"),
    seed: Annotated[int | None, typer.Option(help="Integer seed (default: config).")] = None,
    allow_unconverged: Annotated[
        bool, typer.Option("--allow-unconverged", help="Exit 0 even when diagnostics fail.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing run and report.")
    ] = False,
    quiet: QuietOpt = False,
    structural_range: StructuralOpt = None,
) -> None:
    """Fit CONFIG on the bundled data and write the run, its report and its figures.

    The main job: writes OUT_DIR/NAME.nc, NAME_report.md, the self-contained
    page NAME_report.html and the figures NAME_*.png / NAME_*.pdf.
    """
    from bayes_koryo.model.config import load_config
    from bayes_koryo.outputs.report import render
    from bayes_koryo.outputs.webpage import page, report_figures

    name = load_config(config).name
    nc = out_dir / f"{name}.nc"
    md = out_dir / f"{name}_report.md"
    web = out_dir / f"{name}_report.html"
    for path in (nc, md, web):  # before fitting, not after
        check_output_file_before_work(path, force)
    if structural_range is not None:  # a bad file fails before the fit, not after
        from bayes_koryo.outputs.report import read_structural_range

        read_structural_range(structural_range)
    _fit_and_save(config, nc, None, seed, None, None, None, force, show_progress(quiet))
    model, rep = load_model_and_report(nc, "ETI", structural_range=structural_range)
    write_text_output(md, render(rep, "md"), overwrite=force)
    write_text_output(web, page(rep, report_figures(model)), overwrite=force)
    for path in (md, web):
        typer.echo(f"wrote {path}", err=True)
    _write_figures(model, out_dir, f"{name}_")
    _gate(model, allow_unconverged)


@app.command()
def check(run: Annotated[Path, typer.Argument(help="Run file written by 'fit'.")]) -> None:
    """Check a run: convergence gate, posterior predictive and leave-one-out checks.

    Exit 0 only when the run passes the convergence gate, every reported
    figure lies in the central 90% of its posterior predictive distribution
    (mid-PIT for rounded figures), and no more figures fall outside their 90%
    leave-one-out (PSIS-LOO) interval than chance explains (exit 1, listing
    what failed, otherwise). Figures whose Pareto k exceeds 0.7 are listed:
    their PSIS-LOO values are unreliable and need exact refits.
    """
    from bayes_koryo.errors import ThresholdError
    from bayes_koryo.inference.checks import (
        LOO_K_THRESHOLD,
        check_failures,
        posterior_predictive_table,
    )
    from bayes_koryo.inference.fit import load_run

    model = load_run(run)
    idata, diagnostics = fitted_run(model)
    if "posterior_predictive" not in idata.children:
        model.sample_posterior_predictive()
    ppc = posterior_predictive_table(model)
    failures = [line for lines in check_failures(model, ppc).values() for line in lines]
    typer.echo(
        f"posterior predictive coverage: 50% {ppc['inside_50'].mean():.2f}, "
        f"90% {ppc['inside_90'].mean():.2f} ({len(ppc)} reported figures)"
    )
    if "pareto_k" in ppc:
        shaky = ppc[~ppc["loo_reliable"]]
        reliable = ppc[ppc["loo_reliable"]]
        listed = ", ".join(f"{r.kind} {r.date} ({r.pareto_k:.2f})" for r in shaky.itertuples())
        typer.echo(
            f"leave-one-out (PSIS-LOO): {len(reliable)} of {len(ppc)} figures with Pareto k "
            f"<= {LOO_K_THRESHOLD}, {int(reliable['loo_inside_90'].sum())} of them inside "
            f"their 90% LOO interval; k > {LOO_K_THRESHOLD} (unreliable, needs an exact "
            f"refit): {listed or 'none'}"
        )
    from bayes_koryo.outputs.report import diagnostics_line

    typer.echo(
        diagnostics_line(
            {
                "diagnostics_json": json.dumps(diagnostics.summary()),
                **{k: v for k, v in idata.attrs.items() if k != "diagnostics_json"},
            }
        )
    )
    _echo_rank_uniformity(model)
    for line in failures:
        typer.echo(f"FAIL: {line}")
    if failures:
        raise ThresholdError(f"{run}: {len(failures)} check(s) failed")
    typer.echo("all checks passed")


def _echo_rank_uniformity(model) -> None:
    """Print ArviZ's rank-uniformity test of the free scalar parameters (not part of the gate)."""
    from bayes_koryo.inference.diagnostics import RANK_TEST_ALPHA, rank_uniformity
    from bayes_koryo.model.graph import free_parameters

    posterior = fitted_run(model)[0]["posterior"].to_dataset()
    table = rank_uniformity(posterior, [n for n in free_parameters(model.config) if n in posterior])
    rejected = table.loc[table["rejects"]]
    listed = ", ".join(f"{r.quantity} (p={r.p_value:.1g})" for r in rejected.itertuples())
    typer.echo(
        f"rank uniformity across chains (ArviZ mtc_c, not part of the gate): rejected at "
        f"{RANK_TEST_ALPHA:g} for {len(rejected)} of {len(table)} free parameters"
        + (f": {listed}" if listed else "")
    )


# --------------------------------------------------------------------------- publication commands


def _write_figures(model, out_dir: Path, prefix: str = "") -> None:
    """Write the model's publication figures and the ArviZ workflow figures of a run."""
    from bayes_koryo.outputs.arviz_figures import write_arviz_figures
    from bayes_koryo.outputs.plots import write_figures

    for path in write_figures(model, out_dir, prefix=prefix):
        typer.echo(f"wrote {path}", err=True)
    for path in write_arviz_figures(model, out_dir, prefix=prefix):
        typer.echo(f"wrote {path}", err=True)


@app.command()
def plot(
    run: Annotated[Path, typer.Argument(help="Run file written by 'fit'.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the figures.")] = Path("."),
) -> None:
    """Write the figures of a run as PNG and PDF.

    The model's publication figures (trajectory, decomposition, prior vs
    posterior, posterior predictive check) and ArviZ's workflow figures (rank
    plots, energy, prior vs posterior densities, power-scaling sensitivity).
    """
    from bayes_koryo.inference.fit import load_run

    check_output_dir_before_work(out)
    _write_figures(load_run(run), out, f"{run.stem}_")
