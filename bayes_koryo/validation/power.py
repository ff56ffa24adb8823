"""Power of the checks: how often each check flags a deliberately wrong model.

A check that cannot fail proves nothing. This study simulates data sets (with the real data's
dates, kinds and rounding cells) from a known model, fits the baseline to each at production
settings and runs on every fit the checks of ``bayes-koryo check``
(``inference.checks.CHECKS``), and, over all data sets of a scenario, SBC's rank check.
Scenarios (``POWER_SCENARIOS``):

- ``correct``: data simulated from the fitted model itself. The share of data sets a check
  flags is its size (false-alarm rate), the reference for the other rows.
- ``noise_10x``: reporting errors 10x larger than the fitted model assumes (every kind's
  ``observations.log_sd`` times 10 in the simulator): the model's noise is 10x too small.
- ``growth_logistic``: adoption follows the logistic curve (``models/growth_logistic.toml``);
  the fitted model assumes Bass.

Per data set: whether each check flags it, and the rank of each shared quantity's true value
among its thinned posterior draws (``POWER_QUANTITIES``). Per scenario (``power_table``): the
share flagged by each check with its Jeffreys 90% interval, by any check of ``bayes-koryo
check``, and SBC's verdict from the ranks of all its data sets (a quantity outside its
family-wise simultaneous 95% band). ``bayes-koryo power`` runs it; MODEL.md shows the table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_koryo.inference.checks import CHECKS
from bayes_koryo.study import TWO_MILLION_DATE
from bayes_koryo.validation.sbc import (
    BAND_PROB,
    SBC_SETTINGS,
    U_MAY_2013,
    band_check,
    simultaneous_band,
    thinned,
)


@dataclass(frozen=True)
class Scenario:
    """One simulator for the power study; the fitted model is always the baseline."""

    name: str
    description: str
    config: str  # shipped configuration the data are simulated from
    log_sd_factor: float = 1.0  # every kind's reporting log-sd in the simulator, times this


POWER_SCENARIOS = (
    Scenario("correct", "simulated from the fitted model itself (size of each check)", "baseline"),
    Scenario(
        "noise_10x",
        "reporting errors 10x larger than the fitted model assumes",
        "baseline",
        log_sd_factor=10.0,
    ),
    Scenario(
        "growth_logistic",
        "logistic adoption curve, fitted with the Bass curve",
        "growth_logistic",
    ),
)
"""The scenarios, in table order: the correct model first."""

POWER_QUANTITIES = (
    U_MAY_2013,
    "ceiling_share",
    "heavy_user_share",
    "sims_beyond_two",
    "official_share",
    "inactive_share",
    "deviation_scale",
)
"""Quantities ranked against their truth: U(May 2013) and the free parameters every
scenario's simulator shares with the fitted model."""

POWER_SIMULATIONS = 20
"""Default number of simulated data sets per scenario."""

POWER_SEED = 20131128
"""Default master seed of the study (each data set's seed derives from it)."""

SBC_CHECK = "SBC ranks"
ANY_CHECK = "any check of bayes-koryo check"
FLAG_INTERVAL = 0.9
"""Mass of the Jeffreys interval around each share flagged."""


def scenario_config(scenario: Scenario) -> dict:
    """Return the simulator's configuration (plain dict) of ``scenario``."""
    from bayes_koryo.model.config import load_config, shipped_config_dir

    config = load_config(shipped_config_dir() / f"{scenario.config}.toml").to_dict()
    if scenario.log_sd_factor != 1.0:
        log_sd = config["observations"]["log_sd"]
        config["observations"]["log_sd"] = {
            kind: value * scenario.log_sd_factor for kind, value in log_sd.items()
        }
        config["name"] = f"{config['name']}-noise-x{scenario.log_sd_factor:g}"
    return config


def power_tasks(
    simulations: int = POWER_SIMULATIONS,
    seed: int = POWER_SEED,
    scenarios: tuple[Scenario, ...] = POWER_SCENARIOS,
    observations: pd.DataFrame | None = None,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
) -> list[dict]:
    """Build the sweep's tasks (plain data): one per scenario and simulated data set.

    Data set i of every scenario gets the same seed, so the scenarios differ by their
    simulator, not by the luck of the draw. Sampler settings default to the baseline's
    (production) settings: the checks are measured at the settings they are used with.
    """
    from bayes_koryo.data import load_observations
    from bayes_koryo.errors import ConfigError
    from bayes_koryo.model.config import default_config
    from bayes_koryo.validation.sbc import simulation_seeds

    if simulations < 2:
        raise ConfigError(f"power: --simulations must be at least 2, got {simulations}")
    observations = load_observations() if observations is None else observations
    fitted = default_config()
    settings = {
        "draws": int(draws or fitted.sampler.draws),
        "tune": int(tune or fitted.sampler.tune),
        "chains": int(chains or fitted.sampler.chains),
    }
    seeds = simulation_seeds(seed, simulations)
    return [
        {
            "scenario": scenario.name,
            "simulator": scenario_config(scenario),
            "fitted": fitted.to_dict(),
            "observations": observations,
            "seed": s,
            **settings,
        }
        for scenario in scenarios
        for s in seeds
    ]


def _draws_and_truth(name: str, post, truth: dict, simulator) -> tuple[np.ndarray, float]:
    """Return the (chain, draw) posterior draws and the true value of a ``POWER_QUANTITIES``."""
    if name != U_MAY_2013:
        return post[name].transpose("chain", "draw").values, float(truth[name])
    dates = pd.DatetimeIndex(simulator.model.coords["date"])
    true_value = float(truth["unique_users"][dates.get_loc(pd.Timestamp(TWO_MILLION_DATE))])
    draws = post["unique_users"].sel(date=TWO_MILLION_DATE).transpose("chain", "draw").values
    return draws, true_value


def simulate_and_fit(task: dict) -> tuple:
    """Simulate the task's data set and fit the baseline to it, with posterior predictive draws.

    Returns (fitted KoryoModel, simulator KoryoModel, truth, seeds); the seeds (simulation,
    fit, posterior predictive, PIT) derive from the task's seed.
    """
    from bayes_koryo.model.simulate import simulate_observations
    from bayes_koryo.validation.sweeps import process_model

    simulator = process_model(
        "simulator", task["simulator"], task["observations"], "<power task: simulator>"
    )
    fitter = process_model("fitted", task["fitted"], task["observations"], "<power task: fitted>")
    seeds = [int(s) for s in np.random.SeedSequence(task["seed"]).generate_state(4)]
    simulated, truth = simulate_observations(simulator, seed=seeds[0])
    fitter.set_observations(simulated)
    fitter.fit(seed=seeds[1], draws=task["draws"], tune=task["tune"], chains=task["chains"])
    fitter.sample_posterior_predictive(seed=seeds[2])
    return fitter, simulator, truth, seeds


def power_simulation(task: dict) -> dict:
    """Simulate one data set, fit the baseline to it, run the checks; return plain data."""
    from bayes_koryo.inference.checks import check_failures, posterior_predictive_table
    from bayes_koryo.inference.summaries import interval

    start = time.perf_counter()
    fitter, simulator, truth, (sim_seed, fit_seed, pp_seed, pit_seed) = simulate_and_fit(task)
    seconds = time.perf_counter() - start
    idata = fitter.idata
    table = posterior_predictive_table(fitter)
    failures = check_failures(fitter, table)
    post = idata["posterior"].to_dataset()
    u = np.random.default_rng(pit_seed).uniform(size=len(POWER_QUANTITIES))
    ranks, inside_90 = [], []
    for name, u_j in zip(POWER_QUANTITIES, u, strict=True):
        draws, value = _draws_and_truth(name, post, truth, simulator)
        kept, _ = thinned(draws, SBC_SETTINGS["thin"])
        ranks.append((float(np.sum(kept < value)) + u_j) / (kept.size + 1))
        low, high = interval(draws.ravel(), 0.9, "ETI")
        inside_90.append(bool(low <= value <= high))
    reliable = table["loo_reliable"].astype(bool)
    fit_summary = fitter.diagnostics.summary()
    return {
        "scenario": task["scenario"],
        "seed": int(task["seed"]),
        "simulation_seed": sim_seed,
        "fit_seed": fit_seed,
        "posterior_predictive_seed": pp_seed,
        "pit_seed": pit_seed,
        **{f"flagged_{check}": bool(failures[check]) for check in CHECKS},
        "figures_outside_90": int((~table["inside_90"].astype(bool)).sum()),
        "loo_reliable_figures": int(reliable.sum()),
        "loo_outside_90": int((~table.loc[reliable, "loo_inside_90"].astype(bool)).sum()),
        "max_r_hat": float(fit_summary["max_r_hat"]),
        "divergences": int(fit_summary["divergences"] or 0),
        "seconds": float(seconds),  # simulate, fit, replicate
        "pit": ranks,
        "truth_inside_90": inside_90,
    }


def simulations_frame(results: list[dict]) -> pd.DataFrame:
    """One row per simulated data set: seeds, checks flagged, PIT of every quantity."""
    rows = []
    for r in results:
        row = {k: v for k, v in r.items() if k not in ("pit", "truth_inside_90")}
        row.update({f"pit[{q}]": p for q, p in zip(POWER_QUANTITIES, r["pit"], strict=True)})
        row.update(
            {
                f"inside_90[{q}]": b
                for q, b in zip(POWER_QUANTITIES, r["truth_inside_90"], strict=True)
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _jeffreys(flagged: int, n: int) -> tuple[float, float]:
    """Jeffreys interval (mass ``FLAG_INTERVAL``) of a binomial share."""
    from scipy.stats import beta

    tail = (1 - FLAG_INTERVAL) / 2
    low = 0.0 if flagged == 0 else float(beta.ppf(tail, flagged + 0.5, n - flagged + 0.5))
    high = 1.0 if flagged == n else float(beta.ppf(1 - tail, flagged + 0.5, n - flagged + 0.5))
    return low, high


def sbc_verdict(pit: pd.DataFrame) -> tuple[bool, list[str]]:
    """Return (flagged, quantities outside) of SBC's rank check over one scenario's data sets.

    ``pit``: one column per quantity, one row per data set. Flagged when a quantity's PIT
    ECDF leaves its simultaneous band of family-wise mass ``BAND_PROB`` (Bonferroni over the
    quantities), so the correct model is flagged with probability at most 1 - ``BAND_PROB``.
    """
    family_prob = 1 - (1 - BAND_PROB) / pit.shape[1]
    x, lower, upper = simultaneous_band(len(pit), family_prob)
    outside = [q for q in pit if not band_check(pit[q].to_numpy(), x, lower, upper)[0]]
    return bool(outside), outside


def power_table(sims: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and check: data sets flagged, share flagged, its Jeffreys 90% interval."""
    rows = []
    for scenario in dict.fromkeys(sims["scenario"]):
        part = sims[sims["scenario"] == scenario]
        n = len(part)
        flags = {check: part[f"flagged_{check}"].astype(bool) for check in CHECKS}
        flags[ANY_CHECK] = pd.concat(flags.values(), axis=1).any(axis=1)
        for check, flagged in flags.items():
            k = int(flagged.sum())
            low, high = _jeffreys(k, n)
            rows.append(
                {
                    "scenario": scenario,
                    "check": check,
                    "flagged": k,
                    "data_sets": n,
                    "share": k / n,
                    "share_low": low,
                    "share_high": high,
                    "detail": "",
                }
            )
        pit = part[[f"pit[{q}]" for q in POWER_QUANTITIES]]
        pit.columns = list(POWER_QUANTITIES)
        flagged_sbc, outside = sbc_verdict(pit)
        u_inside = part[f"inside_90[{U_MAY_2013}]"].astype(bool)
        rows.append(
            {
                "scenario": scenario,
                "check": SBC_CHECK,
                "flagged": int(flagged_sbc),
                "data_sets": n,
                "share": float("nan"),
                "share_low": float("nan"),
                "share_high": float("nan"),
                "detail": (
                    f"outside: {', '.join(outside) or 'none'}; true U(May 2013) inside its 90% "
                    f"ETI in {int(u_inside.sum())} of {n}"
                ),
            }
        )
    return pd.DataFrame(rows)


def power_markdown(table: pd.DataFrame) -> str:
    """Render the power table as Markdown: one row per check, one column per scenario."""
    from bayes_koryo.outputs.tables import markdown_table

    scenarios = list(dict.fromkeys(table["scenario"]))
    body = []
    for check in dict.fromkeys(table["check"]):
        cells = []
        for scenario in scenarios:
            row = table[(table["scenario"] == scenario) & (table["check"] == check)].iloc[0]
            if check == SBC_CHECK:
                verdict = "flagged" if row["flagged"] else "not flagged"
                cells.append(f"{verdict} ({row['detail']})")
            else:
                cells.append(
                    f"{row['flagged']} of {row['data_sets']} ({row['share']:.2f}; "
                    f"{row['share_low']:.2f}–{row['share_high']:.2f})"
                )
        body.append([check, *cells])
    return markdown_table(["check", *scenarios], body)


@dataclass
class PowerResult:
    """The study's per-data-set rows, its table and its settings."""

    simulations: pd.DataFrame
    table: pd.DataFrame
    settings: dict


def run_power(
    simulations: int = POWER_SIMULATIONS,
    seed: int = POWER_SEED,
    scenarios: tuple[Scenario, ...] = POWER_SCENARIOS,
    scheduler: str | None = None,
    workers: int | None = None,
    progress=None,
    **settings,
) -> PowerResult:
    """Run the power study (see the module docstring); nothing is written."""
    from bayes_koryo.validation.sweeps import run_sweep

    tasks = power_tasks(simulations, seed, scenarios, **settings)
    start = time.perf_counter()
    results = run_sweep(
        power_simulation, tasks, scheduler=scheduler, workers=workers, progress=progress
    )
    sims = simulations_frame(results)
    meta = {
        "simulations_per_scenario": int(simulations),
        "seed": int(seed),
        "scenarios": {s.name: s.description for s in scenarios},
        "draws": tasks[0]["draws"],
        "tune": tasks[0]["tune"],
        "chains": tasks[0]["chains"],
        "wall_seconds": time.perf_counter() - start,
    }
    return PowerResult(sims, power_table(sims), meta)


POWER_NOTES = (
    "Share of simulated data sets each check flags (Jeffreys 90% interval): for 'correct' "
    "the false-alarm rate, for the wrong models the power. Checks: convergence gate; "
    "posterior predictive (a figure outside the central 90% of its replicate, mid-PIT); "
    "leave-one-out (PSIS-LOO, binomial rule on the figures with Pareto k <= 0.7); SBC ranks "
    "(family-wise simultaneous 95% band over the quantities, all data sets of a scenario)."
)


def write_power(result: PowerResult, out_dir) -> list[Path]:
    """Write power.csv|json|md and power_simulations.csv|json to ``out_dir`` (atomic)."""
    from bayes_koryo.outputs.tables import write_table

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    markdown = f"# Power of the checks\n\n{power_markdown(result.table)}\n\n{POWER_NOTES}\n"
    return write_table(
        result.table, out / "power", header={"meta": result.settings}, markdown=markdown
    ) + write_table(
        result.simulations,
        out / "power_simulations",
        formats=("csv", "json"),
        header={"meta": result.settings},
    )


__all__ = [
    "POWER_QUANTITIES",
    "POWER_SCENARIOS",
    "PowerResult",
    "Scenario",
    "power_markdown",
    "power_simulation",
    "power_table",
    "power_tasks",
    "run_power",
    "sbc_verdict",
    "simulate_and_fit",
    "write_power",
]
