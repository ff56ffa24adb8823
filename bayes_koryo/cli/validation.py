"""The checks of the model and the inference.

Commands ``sensitivity-table``, ``sensitivity``, ``loo``, ``lfo``, ``sbc``, ``recovery`` and
``power``.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer

from bayes_koryo.cli.common import (
    ConfigArg,
    QuietOpt,
    app,
    check_output_dir_before_work,
    config_error,
    fitted_run,
    print_frame,
    progress_reporter,
)
from bayes_koryo.version import __version__

ModelsArg = Annotated[
    list[Path] | None,
    typer.Argument(help="Model TOMLs (default: every configuration shipped with the package)."),
]
LfoModelsArg = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Model TOMLs (default: the shipped baseline, growth_logistic and growth_gompertz)."
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler", help="Dask scheduler address tcp://host:port (default: local processes)."
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", help="Local worker processes (default: all cores; 1: this process)."),
]


def _model_paths(models: list[Path] | None) -> list[Path]:
    """Return the model TOMLs given, else every configuration shipped with the package."""
    from bayes_koryo.model.config import shipped_config_dir, shipped_configs

    paths = list(models) if models else shipped_configs()
    if not paths:
        raise config_error(f"no model TOMLs given and none in {shipped_config_dir()}")
    return paths


def _sweep_settings(seed, draws, tune, chains):
    from bayes_koryo.validation.sensitivity import VariantSettings

    return VariantSettings(seed=seed, draws=draws, tune=tune, chains=chains)


@app.command("sensitivity-table")
def sensitivity_table_command(
    run: Annotated[Path, typer.Argument(help="Run file written by 'fit'.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write OUT.csv, OUT.json and OUT.md (default: print markdown)."),
    ] = None,
) -> None:
    """Tabulate power-scaling sensitivity, contraction and prior/posterior overlap of a run.

    One row per free parameter and headline quantity of the fitted run; then, per headline
    quantity, its sensitivity to each group of priors scaled alone and the most influential
    group (with --out: OUT_by_prior.csv|json|md).

    Thresholds: ``bayes_koryo.validation.sensitivity``.
    """
    from bayes_koryo.inference.fit import load_run
    from bayes_koryo.validation import sensitivity as sens

    if out is not None:
        check_output_dir_before_work(out.parent)
    model = load_run(run)
    table = sens.sensitivity_table(model)
    attrs = fitted_run(model)[0].attrs
    meta = {
        "run": str(run),
        "run_id": attrs.get("run_id"),
        "seed": int(attrs["seed"]),
        "prior_seed": int(table["prior_seed"].iloc[0]),
    }
    by_prior = sens.prior_group_sensitivity(model)
    by_prior_title = f"Sensitivity of {run.name}'s headline quantities to each group of priors"
    if out is None:
        sys.stdout.write(sens.to_markdown(table, notes=sens.SENSITIVITY_NOTES))
        sys.stdout.write("\n" + sens.to_markdown(by_prior, by_prior_title, sens.PRIOR_GROUP_NOTES))
        return
    written = sens.write_table(
        table, out, f"Sensitivity of {run.name}", sens.SENSITIVITY_NOTES, meta
    ) + sens.write_table(
        by_prior,
        out.with_name(f"{out.name}_by_prior"),
        by_prior_title,
        sens.PRIOR_GROUP_NOTES,
        meta,
    )
    for path in written:
        typer.echo(f"wrote {path}", err=True)


@app.command("sensitivity")
def sensitivity_command(
    models: ModelsArg = None,
    out_dir: Annotated[
        Path, typer.Option("--out-dir", help="Folder for the table and chart.")
    ] = Path("runs/sensitivity"),
    variant_set: Annotated[
        Path | None,
        typer.Option(
            "--variant-set",
            help="TOML list of the variants behind the structural range (default: the shipped "
            "models/sets/structural_range.toml).",
        ),
    ] = None,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    seed: Annotated[int | None, typer.Option(help="Integer seed (default: each config's).")] = None,
    draws: Annotated[int | None, typer.Option(help="Draws per chain (default: config).")] = None,
    tune: Annotated[int | None, typer.Option(help="Warm-up draws per chain.")] = None,
    chains: Annotated[int | None, typer.Option(help="Number of chains.")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Fit every model variant and compare its headline numbers with the baseline.

    Fits every variant (growth forms, priors, left-out figures) and writes
    OUT_DIR/variants.csv|json|md and the tornado chart OUT_DIR/tornado.png|pdf
    (U(May 2013), U/S, penetration 10+ relative to the variant named
    'baseline'); when every variant of the declared set was fitted, also
    OUT_DIR/structural_range.csv|json|md, which 'report --structural-range' reads.
    """
    from bayes_koryo.model.config import load_variant_set
    from bayes_koryo.validation import sensitivity as sens

    check_output_dir_before_work(out_dir)
    declared = load_variant_set(variant_set)
    paths = _model_paths(models)
    with progress_reporter("variant fits", quiet) as progress:
        table = sens.run_variants(
            paths,
            _sweep_settings(seed, draws, tune, chains),
            scheduler=scheduler,
            workers=workers,
            progress=progress,
        )
    meta = {
        "models": [str(p) for p in paths],
        "seeds": sorted(set(table["seed"].tolist())),
        "package_version": __version__,
    }
    written = sens.write_variants(table, out_dir, meta)
    names = [p.stem for p in declared.paths]
    not_fitted = sorted(set(names) - set(table["variant"]))
    if not_fitted:
        typer.echo(
            f"note: no structural range: variant(s) of {declared.name} not fitted: "
            f"{', '.join(not_fitted)}",
            err=True,
        )
    else:
        meta |= {"variant_set": declared.name, "declared": names}
        try:
            structural = sens.structural_range(table, names)
        except ValueError as exc:  # e.g. the baseline missed the gate: no range to cite
            typer.echo(f"warning: no structural range: {exc}", err=True)
        else:
            written += sens.write_structural_range(structural, out_dir, meta)
    for path in written:
        typer.echo(f"wrote {path}", err=True)
    bad = table.loc[~table["converged"], "variant"].tolist()
    if bad:
        typer.echo(
            f"warning: unconverged variants (marked in the table): {', '.join(bad)}", err=True
        )


@app.command("loo")
def loo_command(
    run: Annotated[Path, typer.Argument(help="Run file written by 'fit'.")],
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for loo.csv|json|md.")] = Path(
        "runs/loo"
    ),
    refit_all: Annotated[
        bool, typer.Option("--refit-all", help="Refit every subscriber figure, not only k > 0.7.")
    ] = False,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Leave-one-out check of a run: PSIS-LOO, and exact refits where Pareto k > 0.7.

    Writes OUT_DIR/loo.csv|json|md (one row per reported figure) and prints the
    summed elpd and the check; exit 1 when more figures fall outside their 90%
    leave-one-out interval than chance explains.
    """
    from bayes_koryo.errors import ThresholdError
    from bayes_koryo.inference.fit import load_run
    from bayes_koryo.validation import loo

    check_output_dir_before_work(out_dir)
    model = load_run(run)
    attrs = fitted_run(model)[0].attrs
    with progress_reporter("leave-one-out refits", quiet) as progress:
        table = loo.run_loo(
            model, refit_all=refit_all, scheduler=scheduler, workers=workers, progress=progress
        )
    summary = loo.loo_summary(table)
    meta = {"run": str(run), "run_id": attrs.get("run_id"), "seed": int(attrs["seed"])}
    for path in loo.write_loo(table, out_dir, {**meta, **summary}):
        typer.echo(f"wrote {path}", err=True)
    typer.echo(
        f"{summary['figures']} figures, {summary['refitted']} refitted exactly "
        f"({summary['unconverged_refits']} refits missed the convergence gate); not scored: "
        f"{', '.join(summary['untrusted']) or 'none'}; elpd of the scored figures "
        f"{summary['elpd_trusted']:.1f}; {summary['outside_90']} outside their 90% interval"
    )
    for line in summary["failures"]:
        typer.echo(f"FAIL: {line}")
    if summary["failures"]:
        raise ThresholdError(f"{run}: the leave-one-out check failed")


@app.command("lfo")
def lfo_command(
    models: LfoModelsArg = None,
    cutoff: Annotated[
        list[str] | None,
        typer.Option(
            "--cutoff",
            help="YYYY-MM-DD: fit on data up to this date; repeat for several "
            "(default: 2010-06-30, 2010-12-31, 2011-06-30, 2011-09-30, 2012-02-29).",
        ),
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for the tables.")] = Path(
        "runs/lfo"
    ),
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    seed: Annotated[int | None, typer.Option(help="Integer seed (default: each config's).")] = None,
    draws: Annotated[int | None, typer.Option(help="Draws per chain (default: config).")] = None,
    tune: Annotated[int | None, typer.Option(help="Warm-up draws per chain.")] = None,
    chains: Annotated[int | None, typer.Option(help="Number of chains.")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Leave-future-out: score each model's forecasts of the figures after each cut-off.

    Refits each model on the figures up to each cut-off and scores every later
    reported subscriber figure (log predictive density, 50%/90% coverage);
    writes OUT_DIR/lfo_scores.* (one row per figure) and OUT_DIR/lfo_summary.*
    (per model).
    """
    from bayes_koryo.validation import lfo

    check_output_dir_before_work(out_dir)
    from bayes_koryo.model.config import LFO_CONFIGS, shipped_configs

    paths = list(models) if models else shipped_configs(LFO_CONFIGS)
    cutoffs = []
    for text in cutoff or lfo.DEFAULT_CUTOFFS:
        try:
            cutoffs.append(dt.date.fromisoformat(text.strip()).isoformat())
        except ValueError:
            raise config_error(f"--cutoff: expected YYYY-MM-DD, got {text!r}") from None
    with progress_reporter("refits", quiet) as progress:
        scores, summary = lfo.run_lfo(
            paths,
            cutoffs,
            _sweep_settings(seed, draws, tune, chains),
            scheduler=scheduler,
            workers=workers,
            progress=progress,
        )
    for path in lfo.write_lfo(
        scores, summary, out_dir, {"models": [str(p) for p in paths], "cutoffs": cutoffs}
    ):
        typer.echo(f"wrote {path}", err=True)
    if lfo.nothing_compared(summary):
        from bayes_koryo.errors import ThresholdError

        failed = scores.loc[~scores["converged"].astype(bool), ["model", "cutoff"]]
        raise ThresholdError(
            "lfo: at every cut-off a refit missed the convergence gate after its retry, so no "
            "model can be compared (unconverged: "
            + ", ".join(f"{m} {c}" for m, c in failed.drop_duplicates().itertuples(index=False))
            + f"); every refit's scores are in {out_dir / 'lfo_scores.csv'}"
        )


# --------------------------------------------------------------------------- validation


def _sbc_run(
    config: Path,
    simulations: int,
    draws,
    tune,
    chains,
    thin,
    seed,
    scheduler,
    workers,
    partial_dir: Path | None = None,
    quiet: bool = False,
):
    from bayes_koryo.validation import sbc

    settings = {
        k: v if v is not None else sbc.SBC_SETTINGS[k]
        for k, v in (("draws", draws), ("tune", tune), ("chains", chains), ("thin", thin))
    }
    seed = sbc.SBC_SEED if seed is None else seed
    if not quiet:
        typer.echo(
            f"{simulations} simulations of {config}: {settings['chains']} chains x "
            f"{settings['draws']} draws after {settings['tune']} warm-up, thinned by >= "
            f"{settings['thin']}, seed {seed}",
            err=True,
        )

    with progress_reporter("simulations", quiet) as progress:
        return sbc.run_sbc(
            config,
            simulations=simulations,
            seed=seed,
            scheduler=scheduler,
            workers=workers,
            progress=progress,
            partial_dir=partial_dir,
            **settings,
        )


SimulationsOpt = Annotated[
    int, typer.Option("--simulations", help="Number of simulated data sets (each fitted once).")
]
SbcSeedOpt = Annotated[
    int | None,
    typer.Option(help="Integer master seed (default: bayes_koryo.validation.sbc.SBC_SEED)."),
]
SbcDrawsOpt = Annotated[
    int | None,
    typer.Option(help="Draws per chain (default: bayes_koryo.validation.sbc.SBC_SETTINGS)."),
]
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
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for the outputs.")] = Path(
        "runs/sbc"
    ),
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    seed: SbcSeedOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Simulation-based calibration: check that CONFIG's posterior ranks the truth uniformly.

    Fits CONFIG to data simulated from its prior and checks that the ranks of
    the true values are uniform (every free parameter, the log-likelihood, U(May
    2013)). Writes OUT_DIR/sbc_table.csv|json, sbc_ecdf.png|pdf, sbc_ranks.nc
    and recovery_table.csv|json (OUT_DIR/partial/: the same for the simulations
    finished so far, every 10); exit 1 when a quantity's rank ECDF leaves its
    simultaneous 95% band.
    """
    from bayes_koryo.errors import ThresholdError
    from bayes_koryo.validation import sbc

    check_output_dir_before_work(out_dir)
    result = _sbc_run(
        config,
        simulations,
        draws,
        tune,
        chains,
        thin,
        seed,
        scheduler,
        workers,
        partial_dir=out_dir / "partial",
        quiet=quiet,
    )
    for path in sbc.write_outputs(result, out_dir):
        typer.echo(f"wrote {path}", err=True)
    shown = result.table[
        [
            "quantity",
            "pass",
            "band_ratio",
            "p_value_pot_c",
            "pass_familywise",
            "ranked_draws_median",
        ]
    ].copy()
    for column in ("pass", "pass_familywise"):
        shown[column] = shown[column].map({True: "yes", False: "NO"})
    shown["band_ratio"] = shown["band_ratio"].round(2)
    shown["p_value_pot_c"] = shown["p_value_pot_c"].round(3)
    print_frame(
        shown,
        title=f"SBC: {simulations} simulations, {result.seconds:.0f} s "
        "(band_ratio: max |ECDF - x| / band half-width; > 1 fails)",
    )
    counts = sbc.fit_quality_counts(result.tree["simulations"])
    typer.echo(
        f"{counts['fits_failing_the_gate']} of {counts['fits']} fits failed the "
        f"convergence gate ({counts['divergent_fits']} with divergences, "
        f"{counts['fits_r_hat_above_1.01']} with R-hat > 1.01); all are ranked"
    )
    if not result.passed:
        raise ThresholdError(
            f"sbc: {len(result.failed)} of {len(result.table)} test "
            f"quantities outside their simultaneous 95% band: "
            f"{', '.join(result.failed)}"
        )
    typer.echo("all test quantities inside their simultaneous 95% bands")


@app.command("recovery")
def recovery_command(
    config: ConfigArg,
    simulations: SimulationsOpt = 50,
    draws: SbcDrawsOpt = None,
    tune: SbcTuneOpt = None,
    chains: SbcChainsOpt = None,
    thin: SbcThinOpt = None,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for the outputs.")] = Path(
        "runs/recovery"
    ),
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    seed: SbcSeedOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Parameter recovery: fit CONFIG to data simulated from known parameter values.

    The parameter values are drawn across the prior. Reports, per free parameter
    and U(May 2013), the coverage of the 50% and 90% ETIs (binomial MC error),
    the correlation of posterior median and truth, and the contraction. Writes
    OUT_DIR/recovery_table.csv|json and sbc_ranks.nc (every truth and posterior
    summary).
    """
    from bayes_koryo.validation import sbc

    check_output_dir_before_work(out_dir)
    result = _sbc_run(
        config, simulations, draws, tune, chains, thin, seed, scheduler, workers, quiet=quiet
    )
    for path in sbc.write_outputs(result, out_dir, parts=("ranks", "recovery")):
        typer.echo(f"wrote {path}", err=True)
    print_frame(
        result.recovery.drop(columns=["master_seed"]).round(3),
        title=f"Recovery: {simulations} simulations (intervals: ETI; MC error: "
        "binomial sd at the nominal coverage)",
    )


@app.command("power")
def power_command(
    simulations: Annotated[
        int | None,
        typer.Option(
            "--simulations",
            help="Simulated data sets per scenario (default: "
            "bayes_koryo.validation.power.POWER_SIMULATIONS).",
        ),
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for the tables.")] = Path(
        "runs/power"
    ),
    seed: Annotated[int | None, typer.Option("--seed", help="Integer master seed.")] = None,
    draws: Annotated[int | None, typer.Option("--draws", help="Draws per chain.")] = None,
    tune: Annotated[int | None, typer.Option("--tune", help="Warm-up draws per chain.")] = None,
    chains: Annotated[int | None, typer.Option("--chains", help="Chains per fit.")] = None,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Power of the checks: how often each flags data from a deliberately wrong model.

    Simulates data sets from the baseline itself (the checks' false-alarm rate),
    with reporting errors 10x larger than the baseline assumes, and from a
    logistic adoption curve; fits the baseline to each at production settings
    and runs the checks of 'check' and SBC's rank check. Writes
    OUT_DIR/power.csv|json|md and power_simulations.csv|json.
    """
    from bayes_koryo.validation import power

    check_output_dir_before_work(out_dir)
    with progress_reporter("power of the checks", quiet) as progress:
        result = power.run_power(
            simulations=power.POWER_SIMULATIONS if simulations is None else simulations,
            seed=power.POWER_SEED if seed is None else seed,
            scheduler=scheduler,
            workers=workers,
            progress=progress,
            draws=draws,
            tune=tune,
            chains=chains,
        )
    for path in power.write_power(result, out_dir):
        typer.echo(f"wrote {path}", err=True)
    typer.echo(power.power_markdown(result.table))
