"""Simulation-based calibration (SBC) and parameter recovery.

SBC (Talts et al. 2018; Modrák et al. 2023): for each simulation draw parameters from the
prior and data from the model (``simulate.simulate_observations``, the real layout and
rounding cells), fit the model to the data, and rank the true value of each test quantity
among ``L`` thinned posterior draws. If simulator, model and sampler agree, every rank is
uniform on {0, ..., L}; a quantity passes when the ECDF of its ranks stays inside the
simultaneous 95% band of a uniform ECDF.

Why not ``simuk.SBC``: simuk 0.3 fits each simulation with ``pm.sample`` on a new
``pm.observe``-d model and has no hook for another fitting routine; with nutpie that would
recompile the model (~45 s) for every simulation. Here each worker process compiles once
and refits with ``KoryoModel.set_observations`` (a data swap). What the ecosystem does well
is used as is: the simultaneous band is ArviZ's (``arviz_stats.ecdf_utils.ecdf_pit``,
simulation method of Säilynoja, Bürkner & Vehtari 2022, Statistics and Computing 32:32), the
p-value is ArviZ's ``uniformity_test`` (method ``pot_c``), and the ranks are stored in
simuk's layout (group ``prior_sbc``, dims ``chain`` = 1 and ``draw`` = simulation) so that
``arviz_plots.plot_ecdf_pit(xr.open_datatree(path))`` — the plot simuk's documentation uses —
works on the saved file.

Test quantities (``test_quantities``): every scalar free parameter; the mean over periods of
each free pace vector (the observed periods' deviations ``pace_deviation_observed``, the
forecast periods' standard-normal innovations ``pace_innovation_forecast``); the ranks of
every element of ``pace_deviation_observed`` are stored too; the
log-likelihood of the simulated data (sum over all observations) at each posterior draw
against at the truth;
and U(May 2013), ``unique_users`` at 2013-05-28.

Ranks and PIT: ranks need near-independent draws (autocorrelated draws make rank
histograms non-uniform even for a correct sampler; Talts et al. 2018, sec. 4.1). Each
quantity's draws are thinned per simulation by ``max(thin, ceil(N / ESS_bulk))`` (N = all
draws, ESS of that quantity in that fit), i.e. to at most ``N / thin`` and at most about ESS
draws; rank = number of the L kept draws below the truth. L thus varies, so the rank is
turned into a continuous PIT value ``(rank + u) / (L + 1)`` with ``u ~ U(0, 1)`` from the
simulation's seed, exactly uniform on (0, 1) under calibration for any L (so the continuous
band applies without a discreteness correction). The ``prior_sbc`` group holds these PIT
values; raw ranks and L are in ``simulations``.

Multiplicity: with K quantities each tested at 95%, a calibrated model fails at least one
with probability up to 1 - 0.95**K. The table therefore also reports a family-wise verdict
(band of mass 1 - 0.05/K per quantity, Bonferroni); ``passed`` (and the CLI's exit code) use
the per-quantity 95% bands (Talts et al. 2018; Modrák et al. 2023).

The draw of the truths: 200 truths are themselves a random sample, and for a quantity the
data barely inform, the posterior is close to the prior and the rank of the truth follows
the prior CDF of the truth. ``truth_prior_cdf`` computes that CDF for every scalar free
parameter (no fit involved); its band ratio and p-value in the table show how far the draw
of the simulations alone moves the ECDF, and its correlation with the PIT values how much
of a parameter's rank pattern it explains.

Parameter recovery (``recovery_table``) uses the same fits: for every free parameter and
U(May 2013), coverage of the 50% and 90% equal-tailed posterior intervals (binomial Monte
Carlo error), correlation of posterior median and truth, and posterior contraction.

Seeds: a master seed gives one integer seed per simulation (``simulation_seeds``); each
simulation derives its simulation, fit and PIT seeds from it (``numpy.random.SeedSequence``),
so results are the same whichever executor (``sweeps.run_sweep``) runs them.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayes_koryo.atomic import atomic_path
from bayes_koryo.model.graph import PACE_VECTORS
from bayes_koryo.model.simulate import simulate_observations
from bayes_koryo.outputs.tables import write_table
from bayes_koryo.study import PACKAGE_SEED, PRODUCTION_DRAWS, TWO_MILLION_DATE

SBC_SEED = PACKAGE_SEED
"""Default master seed (the package's seed; not chosen for the outcome)."""

SBC_SETTINGS = {**PRODUCTION_DRAWS, "thin": 20}
"""Default fit settings of one SBC simulation: the production settings of a fit
(``study.PRODUCTION_DRAWS``: 4 chains x 2000 draws after 1000 warm-up draws; the config's
target acceptance and tree depth), so the calibration is that of the inference a user
publishes; draws thinned by at least 20 (to at most L = 400 ranked draws, fewer where the
ESS is lower). Every fit is also checked against
the package's convergence gate (``bayes_koryo.inference.diagnostics``); the outputs count the
fits that failed it (they are ranked all the same: dropping them would condition the ranks on the
data)."""

BAND_PROB = 0.95
"""Mass of the simultaneous ECDF band of each quantity."""

BAND_TRIALS = 20_000
"""Simulated uniform samples behind the simultaneous band (ArviZ's simulation method)."""

BAND_SEED = 214
"""Seed of the band simulation (ArviZ's default)."""

BAND_METHOD = "simultaneous ECDF band, simulation method (Säilynoja et al. 2022; arviz_stats)"

LOG_LIKELIHOOD = "log_likelihood"
U_MAY_2013 = f"unique_users[{TWO_MILLION_DATE}]"
VECTOR_MEANS = PACE_VECTORS
ELEMENTWISE = "pace_deviation_observed"

RECOVERY_PROBS = (0.5, 0.9)
"""Masses of the equal-tailed intervals whose coverage recovery reports."""

_QUANTITY_COLUMNS = (
    "truth",
    "rank",
    "n_ranked",
    "ess_bulk",
    "pit",
    "median",
    "sd",
    "eti50_low",
    "eti50_high",
    "eti90_low",
    "eti90_high",
)
"""Per-quantity results of one simulation (``sbc_simulation``), in their stored order."""


def test_quantities(config) -> tuple[str, ...]:
    """Names of the SBC test quantities of a model built with ``config``."""
    from bayes_koryo.model.graph import free_parameters

    return (
        tuple(free_parameters(config))
        + tuple(f"{v}_mean" for v in VECTOR_MEANS)
        + (LOG_LIKELIHOOD, U_MAY_2013)
    )


def recovery_quantities(config) -> tuple[str, ...]:
    """Return the names of the quantities of the recovery table.

    Every free parameter (vectors as their mean) and U(May 2013); not the log-likelihood,
    which has no true value of its own.
    """
    return tuple(q for q in test_quantities(config) if q != LOG_LIKELIHOOD)


def simulation_seeds(seed: int, simulations: int) -> list[int]:
    """One integer seed per simulation, from the master ``seed``."""
    rng = np.random.default_rng(int(seed))
    return [int(s) for s in rng.integers(0, 2**31 - 1, size=int(simulations))]


def sbc_tasks(
    config=None,
    observations: pd.DataFrame | None = None,
    simulations: int = 200,
    seed: int = SBC_SEED,
    draws: int = SBC_SETTINGS["draws"],
    tune: int = SBC_SETTINGS["tune"],
    chains: int = SBC_SETTINGS["chains"],
    thin: int = SBC_SETTINGS["thin"],
) -> list[dict]:
    """Build the sweep's tasks (plain data): one per simulation, each with its own seed."""
    from bayes_koryo.data import load_observations
    from bayes_koryo.inference.fit import as_config, structure_key

    config = as_config(config)
    observations = load_observations() if observations is None else observations
    if simulations < 2:
        from bayes_koryo.errors import ConfigError

        raise ConfigError(
            f"sbc: --simulations must be at least 2 (an ECDF band needs two "
            f"ranks), got {simulations}"
        )
    if not 1 <= thin <= draws:
        from bayes_koryo.errors import ConfigError

        raise ConfigError(f"sbc: thin must be between 1 and draws ({draws}), got {thin}")
    config_dict = config.to_dict()
    structure = structure_key(config, observations)
    return [
        {
            "config": config_dict,
            "observations": observations,
            "seed": s,
            "draws": int(draws),
            "tune": int(tune),
            "chains": int(chains),
            "thin": int(thin),
            "structure": structure,
        }
        for s in simulation_seeds(seed, simulations)
    ]


def _models(task: dict):
    """Return the (template, fitter) KoryoModels of the task's config and data.

    Both are built once per process. The template keeps the real observations (simulations
    start from its layout); the fitter gets each simulated data set. Both share the
    per-process compiled model.
    """
    from bayes_koryo.validation.sweeps import process_model

    args = (task["config"], task["observations"], "<sbc task>")
    return process_model("template", *args), process_model("fitter", *args)


def _summed_log_likelihood(log_lik: xr.Dataset) -> xr.DataArray:
    """Sum the elementwise log-likelihood over every observation; dims (chain, draw), nats."""
    total = sum(
        log_lik[v].sum([d for d in log_lik[v].dims if d not in ("chain", "draw")])
        for v in log_lik.data_vars
    )
    if not isinstance(total, xr.DataArray):
        raise ValueError("sbc: the log-likelihood group has no variables")
    return total.transpose("chain", "draw")


def truth_log_likelihood(kmodel, truth: dict) -> float:
    """Compute the summed log-likelihood (nats) of ``kmodel``'s observations at the truth.

    The truth is the true values of the free variables; the log-likelihood comes from the
    same compiled function as the posterior draws' (``postprocess.log_densities``).
    """
    from bayes_koryo.inference import postprocess

    model = kmodel.model
    dims = model.named_vars_to_dims
    data = {
        rv.name: (
            ("chain", "draw", *(dims.get(rv.name) or ())),
            np.asarray(truth[rv.name])[None, None],
        )
        for rv in model.free_RVs
    }
    coords = {"chain": [0], "draw": [0]}
    coords.update(
        {d: np.asarray(model.coords[d]) for rv in model.free_RVs for d in (dims.get(rv.name) or ())}
    )
    log_lik, _ = postprocess.log_densities(kmodel, xr.Dataset(data, coords=coords))
    return float(_summed_log_likelihood(log_lik).values[0, 0])


def _draws_and_truth(idata, truth: dict, kmodel) -> dict[str, tuple[np.ndarray, float]]:
    """Return (posterior draws with dims (chain, draw), true value) of every test quantity."""
    post = idata["posterior"].to_dataset()
    dates = pd.DatetimeIndex(kmodel.model.coords["date"])
    out = {}
    for name in test_quantities(kmodel.config):
        if name == LOG_LIKELIHOOD:
            log_lik = _summed_log_likelihood(idata["log_likelihood"].to_dataset())
            out[name] = (log_lik.values, truth_log_likelihood(kmodel, truth))
        elif name == U_MAY_2013:
            k = int(dates.get_indexer([pd.Timestamp(TWO_MILLION_DATE)])[0])
            out[name] = (
                post["unique_users"].sel(date=TWO_MILLION_DATE).transpose("chain", "draw").values,
                float(truth["unique_users"][k]),
            )
        elif name.endswith("_mean") and name.removesuffix("_mean") in VECTOR_MEANS:
            var = name.removesuffix("_mean")
            dim = [d for d in post[var].dims if d not in ("chain", "draw")]
            out[name] = (
                post[var].mean(dim).transpose("chain", "draw").values,
                float(np.mean(truth[var])),
            )
        else:
            out[name] = (post[name].transpose("chain", "draw").values, float(truth[name]))
    return out


def thinned(draws: np.ndarray, thin: int) -> tuple[np.ndarray, float]:
    """Thin ``draws`` (chain, draw) to near-independent draws; return (kept draws, bulk ESS).

    Every t-th draw of each chain is kept, with t = max(thin, ceil(N / ESS_bulk)).
    """
    import arviz_stats  # noqa: F401  (registers the .azstats accessor)

    ess = float(xr.DataArray(draws, dims=("chain", "draw")).azstats.ess(method="bulk"))
    step = max(int(thin), math.ceil(draws.size / max(ess, 1.0)))
    step = min(step, draws.shape[1])
    return draws[:, step - 1 :: step].ravel(), ess


def sbc_simulation(task: dict) -> dict:
    """Run one SBC simulation (the sweep's function): simulate, refit, rank.

    Returns plain data. Keys: ``seed`` and the derived ``simulation_seed``/``fit_seed``/
    ``pit_seed``; per test quantity (arrays in ``quantities`` order): ``truth``, ``rank``
    (0..``n_ranked``), ``n_ranked`` (L, after thinning to the ESS), ``ess_bulk``, ``pit``,
    ``median``, ``sd`` and the 50%/90% ETI bounds from all draws; ``element_rank``/
    ``element_n_ranked`` (every ``pace_deviation_observed`` element); sampler diagnostics.
    """
    template, fitter = _models(task)
    sim_seed, fit_seed, pit_seed = (
        int(s) for s in np.random.SeedSequence(task["seed"]).generate_state(3)
    )
    simulated, truth = simulate_observations(template, seed=sim_seed)
    fitter.set_observations(simulated)
    start = time.perf_counter()
    idata = fitter.fit(seed=fit_seed, draws=task["draws"], tune=task["tune"], chains=task["chains"])
    seconds = time.perf_counter() - start
    pairs = _draws_and_truth(idata, truth, fitter)
    names = list(pairs)
    u = np.random.default_rng(pit_seed).uniform(size=len(names))
    result: dict = {
        "seed": int(task["seed"]),
        "simulation_seed": sim_seed,
        "fit_seed": fit_seed,
        "pit_seed": pit_seed,
        "quantities": names,
    }
    result.update(_rank_quantities(pairs, u, task["thin"]))
    result.update(_element_ranks(idata, truth, task["thin"]))
    summary = fitter.diagnostics.summary()
    result.update(
        {
            "converged": int(bool(summary["converged"])),
            "divergences": _count(summary["divergences"]),
            "max_treedepth_hits": _count(summary["max_treedepth_hits"]),
            "max_r_hat": float(summary["max_r_hat"]),
            "min_ess_bulk": float(summary["min_ess_bulk"]),
            "min_ess_tail": float(summary["min_ess_tail"]),
            "fit_seconds": float(seconds),
        }
    )
    return result


def _rank_quantities(
    pairs: dict[str, tuple[np.ndarray, float]], u: np.ndarray, thin: int
) -> dict[str, np.ndarray]:
    """Rank the true value of each test quantity among its thinned posterior draws.

    ``pairs`` maps each quantity to its (chain, draw) draws and true value, ``u`` holds one
    U(0, 1) value per quantity for the PIT. Returns one array per column of
    ``_QUANTITY_COLUMNS``, in the order of ``pairs``.
    """
    from bayes_koryo.inference.summaries import interval

    columns: dict[str, list] = {k: [] for k in _QUANTITY_COLUMNS}
    for j, (draws, true_value) in enumerate(pairs.values()):
        kept, ess = thinned(draws, thin)
        rank = int(np.sum(kept < true_value))
        columns["truth"].append(true_value)
        columns["rank"].append(rank)
        columns["n_ranked"].append(kept.size)
        columns["ess_bulk"].append(ess)
        columns["pit"].append((rank + u[j]) / (kept.size + 1))
        columns["median"].append(float(np.median(draws)))
        columns["sd"].append(float(np.std(draws)))
        for prob in RECOVERY_PROBS:
            low, high = interval(draws.ravel(), prob, "ETI")
            columns[f"eti{prob * 100:.0f}_low"].append(low)
            columns[f"eti{prob * 100:.0f}_high"].append(high)
    return {k: np.asarray(v) for k, v in columns.items()}


def _element_ranks(idata: xr.DataTree, truth: dict, thin: int) -> dict[str, np.ndarray]:
    """Rank the true value of every ``ELEMENTWISE`` element among its thinned draws.

    Returns ``element_rank`` and ``element_n_ranked`` (L of each element), one per period.
    """
    elements = idata["posterior"][ELEMENTWISE].transpose("chain", "draw", ...).values
    element_truth = np.asarray(truth[ELEMENTWISE])
    kept = [thinned(elements[..., k], thin)[0] for k in range(elements.shape[-1])]
    return {
        "element_rank": np.array([int(np.sum(d < element_truth[k])) for k, d in enumerate(kept)]),
        "element_n_ranked": np.array([d.size for d in kept]),
    }


def _count(value: int | None) -> int:
    """Return a sampler count of a fit's diagnostics summary; -1 where it was not measured."""
    return -1 if value is None else int(value)


# --------------------------------------------------------------------------- collecting


def collect(results: list[dict], tasks: list[dict], master_seed: int) -> xr.DataTree:
    """Collect the sweep's results into one DataTree.

    Groups: ``prior_sbc`` (PIT values of the ranks in simuk's layout, dims chain = 1, draw =
    simulation; ``arviz_plots.plot_ecdf_pit`` reads it) and ``simulations`` (truths, ranks, L,
    posterior summaries, seeds, diagnostics).
    """
    names = results[0]["quantities"]
    n = len(results)
    sim = np.arange(n)

    def stack(key):
        return np.stack([r[key] for r in results])

    pit = xr.Dataset(
        {q: (("chain", "draw"), stack("pit")[None, :, j]) for j, q in enumerate(names)},
        coords={"chain": [0], "draw": sim},
    )
    per_sim: dict[str, tuple[tuple[str, ...], np.ndarray]] = {
        k: (("simulation", "quantity"), stack(k)) for k in _QUANTITY_COLUMNS
    }
    per_sim[f"{ELEMENTWISE}_rank"] = (("simulation", "period"), stack("element_rank"))
    per_sim[f"{ELEMENTWISE}_n_ranked"] = (("simulation", "period"), stack("element_n_ranked"))
    for key in (
        "seed",
        "simulation_seed",
        "fit_seed",
        "pit_seed",
        "converged",
        "divergences",
        "max_treedepth_hits",
        "max_r_hat",
        "min_ess_bulk",
        "min_ess_tail",
        "fit_seconds",
    ):
        per_sim[key] = (("simulation",), stack(key))
    simulations = xr.Dataset(per_sim, coords={"simulation": sim, "quantity": names})
    task = tasks[0]
    attrs = {
        "master_seed": int(master_seed),
        "n_simulations": n,
        "max_ranked_draws": task["chains"] * (task["draws"] // task["thin"]),
        "draws": task["draws"],
        "tune": task["tune"],
        "chains": task["chains"],
        "thin": task["thin"],
        "config": json.dumps(task["config"], sort_keys=True),
        "config_name": task["config"]["name"],
        "pit": "(rank + u) / (n_ranked + 1), u ~ U(0,1) from pit_seed; draws thinned "
        "by max(thin, ceil(N / ESS_bulk))",
        "method": "SBC (Talts et al. 2018; Modrak et al. 2023), bayes_koryo.validation.sbc",
    }
    from bayes_koryo.inference.runs import versions

    attrs.update({f"version_{k}": v for k, v in versions().items()})
    tree = xr.DataTree.from_dict({"prior_sbc": pit, "simulations": simulations})
    tree.attrs.update(attrs)
    return tree


def pool(trees: list[xr.DataTree]) -> xr.DataTree:
    """Pool several SBC runs of one config into one run.

    The runs must share the settings and differ in master seed. The simulations are placed
    side by side (each keeps its own seeds), ``master_seed`` is the seeds joined by "+".
    Calibration and recovery tables of the result use all simulations.
    """
    from bayes_koryo.errors import ConfigError

    first = trees[0].attrs
    same = ("config", "draws", "tune", "chains", "thin")
    for tree in trees[1:]:
        differ = [k for k in same if tree.attrs[k] != first[k]]
        if differ:
            raise ConfigError(f"sbc pool: runs differ in {', '.join(differ)}")
    seeds = [str(t.attrs["master_seed"]) for t in trees]
    if len(set(seeds)) != len(seeds):
        raise ConfigError(
            f"sbc pool: a master seed occurs twice ({' '.join(seeds)}): the "
            "runs would repeat the same simulations"
        )
    pit = xr.concat([t["prior_sbc"].to_dataset() for t in trees], dim="draw")
    pit = pit.assign_coords(draw=np.arange(pit.sizes["draw"]))
    sims = xr.concat([t["simulations"].to_dataset() for t in trees], dim="simulation")
    sims = sims.assign_coords(simulation=np.arange(sims.sizes["simulation"]))
    tree = xr.DataTree.from_dict({"prior_sbc": pit, "simulations": sims})
    tree.attrs.update(
        {
            **first,
            "master_seed": "+".join(seeds),
            "n_simulations": int(sims.sizes["simulation"]),
            "wall_seconds": float(sum(t.attrs.get("wall_seconds", float("nan")) for t in trees)),
        }
    )
    return tree


def _master_seed(tree: xr.DataTree) -> int | str:
    """Return the master seed of a run (int), or the seeds of a pooled run ("a+b")."""
    seed = tree.attrs["master_seed"]
    return seed if isinstance(seed, str) else int(seed)


def simultaneous_band(
    n: int, band_prob: float = BAND_PROB, trials: int = BAND_TRIALS, seed: int = BAND_SEED
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (x, lower, upper): ArviZ's simultaneous ``band_prob`` band for a uniform ECDF.

    The band is that of the ECDF of ``n`` uniform values, at the evaluation points x = 0,
    1/n, ..., 1 (ECDF values, not differences).
    """
    from arviz_stats.ecdf_utils import ecdf_pit

    x, _, lower, upper = ecdf_pit(
        np.linspace(0.0, 1.0, n), band_prob, trials, rng=np.random.default_rng(seed)
    )
    return x, lower, upper


def _ecdf(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Return the empirical CDF of ``values`` at the points ``x``."""
    return np.searchsorted(np.sort(values), x, side="right") / len(values)


def band_check(values, x, lower, upper) -> tuple[bool, float, float]:
    """Return (inside the band, max |ECDF - x| / band half-width on that side, max |ECDF - x|).

    The ratio leaves out the points where that side of the band is cut off at 0 or 1 (near
    the ends an ECDF of 0 or 1 touches such a bound by construction, which would read as a
    ratio of exactly 1); the ECDF cannot cross a bound there, so the verdict is unchanged.
    """
    ecdf = _ecdf(values, x)
    diff = ecdf - x
    open_above = (diff > 0) & (upper < 1.0)
    open_below = (diff < 0) & (lower > 0.0)
    above = np.where(open_above, diff / np.maximum(upper - x, 1e-12), 0.0)
    below = np.where(open_below, -diff / np.maximum(x - lower, 1e-12), 0.0)
    inside = bool(np.all((ecdf >= lower) & (ecdf <= upper)))
    max_diff = float(np.abs(diff[1:-1]).max())  # the ECDF is pinned at 0 and 1 at the ends
    return inside, float(max(above.max(), below.max())), max_diff


def pot_c_p_value(values) -> float:
    """ArviZ's ``pot_c`` p-value of the hypothesis that ``values`` are uniform on (0, 1)."""
    import arviz_stats  # noqa: F401  (registers the .azstats accessor)

    return float(
        xr.DataArray(np.ravel(values), dims="draw").azstats.uniformity_test(
            dim="draw", method="pot_c"
        )[0]
    )


def truth_prior_cdf(tree: xr.DataTree) -> dict[str, np.ndarray]:
    """Prior CDF of the simulated true values, per scalar free parameter (no fit involved).

    Exactly uniform on (0, 1) when the truths are draws from the prior, so the ECDF of these
    values shows how far any rank ECDF can stray from uniform through the draw of the
    simulations alone. For a parameter the data barely inform, the posterior is close to the
    prior and its PIT is close to this value: when both ECDFs leave uniformity together (high
    correlation), the deviation comes from the sample of truths, not from the fit. Uses the
    PyMC distribution of each prior (``priors.prior_distribution``) with the run's prior values.
    """
    import pymc as pm

    from bayes_koryo.model.config import config_from_dict
    from bayes_koryo.model.graph import free_parameters
    from bayes_koryo.model.priors import prior_distribution

    config = config_from_dict(json.loads(tree.attrs["config"]), source="<sbc run>")
    truth = tree["simulations"]["truth"]
    return {
        name: np.exp(
            pm.logcdf(
                prior_distribution(config.priors[name]), truth.sel(quantity=name).values
            ).eval()
        )
        for name in free_parameters(config)
    }


def calibration_table(
    tree: xr.DataTree,
    band_prob: float = BAND_PROB,
    trials: int = BAND_TRIALS,
    band_seed: int = BAND_SEED,
) -> pd.DataFrame:
    """Tabulate pass/fail per test quantity.

    A quantity passes when the ECDF of its PIT values stays inside the simultaneous
    ``band_prob`` band (a calibration band, not a credible interval); the table also gives the
    family-wise (Bonferroni) verdict and ArviZ's ``pot_c`` p-value. For the scalar free
    parameters, the same band ratio and p-value of the prior CDF of the truths
    (``truth_prior_cdf``: the share of any deviation that the draw of the simulations alone
    produces) and its correlation with the PIT values; NaN for the other quantities.
    """
    import arviz_stats  # noqa: F401  (registers the .azstats accessor)

    pit = tree["prior_sbc"].to_dataset()
    sims = tree["simulations"].to_dataset()
    names = list(pit.data_vars)
    n = pit.sizes["draw"]
    x, lower, upper = simultaneous_band(n, band_prob, trials, band_seed)
    family_prob = 1 - (1 - band_prob) / len(names)
    _, f_lower, f_upper = simultaneous_band(n, family_prob, trials, band_seed)
    seeds = " ".join(str(int(s)) for s in sims["seed"].values)
    truth_cdf = truth_prior_cdf(tree)
    rows = []
    for name in names:
        values = pit[name].values.ravel()
        inside, ratio, max_diff = band_check(values, x, lower, upper)
        family_inside, _, _ = band_check(values, x, f_lower, f_upper)
        truth_ratio = truth_p = truth_corr = float("nan")
        if name in truth_cdf:
            truth_ratio = band_check(truth_cdf[name], x, lower, upper)[1]
            truth_p = pot_c_p_value(truth_cdf[name])
            truth_corr = float(np.corrcoef(values, truth_cdf[name])[0, 1])
        n_ranked = sims["n_ranked"].sel(quantity=name).values
        rows.append(
            {
                "quantity": name,
                "n_simulations": n,
                "ranked_draws_median": float(np.median(n_ranked)),
                "ranked_draws_min": int(n_ranked.min()),
                "pass": inside,
                "band_ratio": ratio,
                "max_abs_ecdf_diff": max_diff,
                "p_value_pot_c": pot_c_p_value(values),
                "pass_familywise": family_inside,
                "truth_cdf_band_ratio": truth_ratio,
                "truth_cdf_p_value_pot_c": truth_p,
                "pit_truth_cdf_correlation": truth_corr,
                "band_prob": band_prob,
                "familywise_band_prob": family_prob,
                "band_method": BAND_METHOD,
                "band_trials": trials,
                "band_seed": band_seed,
                "master_seed": _master_seed(tree),
                "simulation_seeds": seeds,
            }
        )
    return pd.DataFrame(rows)


def recovery_table(tree: xr.DataTree) -> pd.DataFrame:
    """Tabulate parameter recovery per quantity.

    Columns: coverage of the 50% and 90% ETIs with binomial MC error (the sd of the coverage
    of a calibrated posterior, sqrt(p(1-p)/n) at the nominal p), Pearson correlation of
    posterior median and truth, and mean contraction 1 - mean posterior variance / variance
    of the truths (prior variance).
    """
    sims = tree["simulations"].to_dataset()
    # the quantities the run ranked, as the run named them (an older package version's file
    # may name them differently from this version's ``recovery_quantities``)
    names = [str(q) for q in sims["quantity"].values if str(q) != LOG_LIKELIHOOD]
    n = sims.sizes["simulation"]
    rows = []
    for name in names:
        s = sims.sel(quantity=name)
        truth = s["truth"].values
        row = {"quantity": name, "n_simulations": n, "interval_kind": "ETI"}
        for prob in RECOVERY_PROBS:
            tag = f"{prob * 100:.0f}"
            inside = (s[f"eti{tag}_low"].values <= truth) & (truth <= s[f"eti{tag}_high"].values)
            row[f"coverage_{tag}"] = float(inside.mean())
            row[f"coverage_{tag}_mcse"] = math.sqrt(prob * (1 - prob) / n)
        median = s["median"].values
        row["median_truth_correlation"] = (
            float(np.corrcoef(median, truth)[0, 1]) if n > 2 and np.std(truth) > 0 else float("nan")
        )
        prior_var = float(np.var(truth, ddof=1)) if n > 1 else float("nan")
        row["contraction"] = (
            1 - float(np.mean(s["sd"].values ** 2)) / prior_var if prior_var > 0 else float("nan")
        )
        row["master_seed"] = _master_seed(tree)
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- running


@dataclass
class SBCResult:
    """An SBC sweep: the DataTree of ranks and the tables built from its fits.

    ``tree`` holds the ranks (:func:`collect`), ``table`` the calibration table and
    ``recovery`` the recovery table of the same fits.
    """

    tree: xr.DataTree
    table: pd.DataFrame
    recovery: pd.DataFrame
    seconds: float = float("nan")
    settings: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Every test quantity inside its simultaneous 95% band."""
        return bool(self.table["pass"].all())

    @property
    def failed(self) -> list[str]:
        """Test quantities outside their simultaneous 95% band."""
        return list(self.table.loc[~self.table["pass"], "quantity"])


def run_sbc(
    config=None,
    simulations: int = 200,
    seed: int = SBC_SEED,
    draws: int = SBC_SETTINGS["draws"],
    tune: int = SBC_SETTINGS["tune"],
    chains: int = SBC_SETTINGS["chains"],
    thin: int = SBC_SETTINGS["thin"],
    observations: pd.DataFrame | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress=None,
    partial_dir=None,
    partial_every: int = 10,
) -> SBCResult:
    """Run SBC, and recovery from the same fits, for ``config``.

    ``config`` is a path, a ModelConfig or None for the baseline; the data are simulated
    with the real layout of ``observations``. ``workers=1`` runs in this process (reusing
    its compiled model); otherwise see ``sweeps.run_sweep``. Returns an :class:`SBCResult`.
    Nothing is written, except with ``partial_dir``: every ``partial_every`` finished
    simulations the outputs of those finished so far (in completion order) are written there
    (:func:`write_outputs`), so a long sweep that is stopped leaves its partial result.
    """
    from bayes_koryo.validation.sweeps import run_sweep

    tasks = sbc_tasks(config, observations, simulations, seed, draws, tune, chains, thin)
    start = time.perf_counter()
    finished: dict[int, dict] = {}

    def on_result(index: int, result: dict) -> None:
        finished[index] = result
        if (
            partial_dir is None
            or len(finished) < 2
            or len(finished) % partial_every
            or len(finished) == len(tasks)
        ):
            return
        order = sorted(finished)
        try:
            tree = collect([finished[i] for i in order], [tasks[i] for i in order], seed)
            tree.attrs["partial"] = f"{len(order)} of {len(tasks)} simulations"
            write_outputs(
                SBCResult(
                    tree,
                    calibration_table(tree),
                    recovery_table(tree),
                    time.perf_counter() - start,
                    {**settings, "finished": len(order)},
                ),
                partial_dir,
            )
        except Exception as exc:  # a partial snapshot must not stop the sweep
            import warnings

            warnings.warn(f"sbc: partial outputs not written: {exc}", stacklevel=1)

    settings = {
        "simulations": simulations,
        "seed": seed,
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "thin": thin,
    }
    results = run_sweep(
        sbc_simulation,
        tasks,
        scheduler=scheduler,
        workers=workers,
        progress=progress,
        on_result=on_result,
    )
    seconds = time.perf_counter() - start
    tree = collect(results, tasks, seed)
    tree.attrs["wall_seconds"] = float(seconds)
    return SBCResult(tree, calibration_table(tree), recovery_table(tree), seconds, settings)


def recovery(config=None, simulations: int = 50, seed: int = SBC_SEED, **kwargs) -> pd.DataFrame:
    """Return the parameter recovery table of an SBC sweep.

    The sweep makes ``simulations`` fits to data simulated from prior draws (``kwargs`` as
    for :func:`run_sbc`).
    """
    return run_sbc(config, simulations, seed, **kwargs).recovery


# --------------------------------------------------------------------------- outputs


def ecdf_figure(
    tree: xr.DataTree,
    table: pd.DataFrame,
    band_prob: float = BAND_PROB,
    trials: int = BAND_TRIALS,
    band_seed: int = BAND_SEED,
):
    """Draw the ECDF-difference grid of an SBC run; return the matplotlib figure.

    For each test quantity ECDF(PIT) - x with the simultaneous ``band_prob`` band (the band
    the pass/fail verdict uses); failing panels are marked.
    """
    import matplotlib.pyplot as plt

    from bayes_koryo.outputs.plots import STYLE, WIDTH_FULL

    pit = tree["prior_sbc"].to_dataset()
    names = [str(name) for name in pit.data_vars]
    n = pit.sizes["draw"]
    x, lower, upper = simultaneous_band(n, band_prob, trials, band_seed)
    verdict = dict(zip(table["quantity"], table["pass"], strict=True))
    cols = 4
    rows = math.ceil(len(names) / cols)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(
            rows, cols, figsize=(WIDTH_FULL, 1.35 * rows), sharex=True, sharey=True, squeeze=False
        )
        for ax, name in zip(axes.flat, names, strict=False):
            ecdf = _ecdf(pit[name].values.ravel(), x)
            ax.fill_between(x, lower - x, upper - x, step="post", color="0.85", lw=0)
            ax.axhline(0, color="0.5", lw=0.5)
            ax.step(x, ecdf - x, where="post", color="C0" if verdict[name] else "C3", lw=0.9)
            ax.set_title(name + ("" if verdict[name] else "  (FAIL)"), fontsize=7)
        for ax in axes.flat[len(names) :]:
            ax.set_visible(False)
        for ax in axes[-1]:
            ax.set_xlabel("PIT of the rank")
        for ax in axes[:, 0]:
            ax.set_ylabel("ECDF − x")
        fig.suptitle(
            f"SBC of {tree.attrs['config_name']}: {n} simulations, up to "
            f"{tree.attrs['max_ranked_draws']} ranked draws each (thinned to the ESS);"
            f" grey: simultaneous {band_prob * 100:g}% band",
            fontsize=8,
        )
        fig.tight_layout()
    return fig


OUTPUT_PARTS = ("ranks", "calibration", "figure", "recovery")


def fit_quality_counts(sims) -> dict[str, int | None]:
    """Count the SBC fits (the ``simulations`` group) that failed a check.

    Counts of the fits that failed the package's convergence gate (None when the run does not
    record it), diverged or mixed poorly.
    """
    failed = int((sims["converged"].values == 0).sum()) if "converged" in sims else None
    return {
        "fits": int(sims.sizes["simulation"]),
        "fits_failing_the_gate": failed,
        "divergent_fits": int((sims["divergences"].values > 0).sum()),
        "fits_r_hat_above_1.01": int((sims["max_r_hat"].values > 1.01).sum()),
        "fits_r_hat_above_1.05": int((sims["max_r_hat"].values > 1.05).sum()),
        "fits_min_bulk_ess_below_100": int((sims["min_ess_bulk"].values < 100).sum()),
    }


def write_outputs(result: SBCResult, out_dir, parts=OUTPUT_PARTS) -> list[Path]:
    """Write the ``parts`` of an SBC result into ``out_dir`` and return the paths.

    Each file is written atomically:

    - ``ranks``: ``sbc_ranks.nc`` (the DataTree of :func:`collect`: PIT values in simuk's
      ``prior_sbc`` layout, per-simulation truths, ranks, seeds and diagnostics);
    - ``calibration``: ``sbc_table.csv`` and ``sbc_table.json`` (:func:`calibration_table`;
      the JSON adds settings, wall time, the verdict and every simulation seed);
    - ``figure``: ``sbc_ecdf.png`` and ``sbc_ecdf.pdf`` (:func:`ecdf_figure`);
    - ``recovery``: ``recovery_table.csv`` and ``recovery_table.json``.
    """
    import matplotlib.pyplot as plt

    from bayes_koryo.outputs.plots import save_figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    sims = result.tree["simulations"].to_dataset()
    meta = {
        "config": result.tree.attrs["config_name"],
        "settings": result.settings,
        "wall_seconds": result.seconds,
        "max_ranked_draws": int(result.tree.attrs["max_ranked_draws"]),
        "passed": result.passed,
        "failed": result.failed,
        "failed_familywise": list(result.table.loc[~result.table["pass_familywise"], "quantity"]),
        **fit_quality_counts(sims),
        "median_fit_seconds": float(np.median(sims["fit_seconds"].values)),
        "simulation_seeds": [int(s) for s in sims["seed"].values],
    }
    if "ranks" in parts:
        nc = out / "sbc_ranks.nc"
        with atomic_path(nc) as tmp:
            result.tree.to_netcdf(tmp, engine="h5netcdf")
        written.append(nc)
    frames = [("sbc_table", result.table)] if "calibration" in parts else []
    frames += [("recovery_table", result.recovery)] if "recovery" in parts else []
    for name, frame in frames:
        written += write_table(
            frame,
            out / name,
            formats=("csv", "json"),
            header=meta,
            json_exclude=("simulation_seeds",),
        )
    if "figure" in parts:
        for name, make in (
            ("sbc_ecdf", lambda: ecdf_figure(result.tree, result.table)),
            ("sbc_ecdf_pit", lambda: ecdf_pit_figure(result.tree)),
        ):
            fig = make()
            try:
                for fmt in ("png", "pdf"):
                    written.append(save_figure(fig, out / f"{name}.{fmt}"))
            finally:
                plt.close(fig)
    return written


def ecdf_pit_figure(tree: xr.DataTree):
    """Return ArviZ's ECDF-PIT plot of the ranks (``arviz_plots.plot_ecdf_pit``).

    One panel per test quantity: the difference between the ECDF of the PIT values and the
    uniform CDF, with ArviZ's own p-value (``pot_c``) and the points that deviate most. The
    package's calibration table and ``sbc_ecdf`` use the simultaneous band of
    :func:`calibration_table`; this is the plot an ArviZ user knows.
    """
    import arviz_plots as azp

    panels = len(tree["prior_sbc"].data_vars)
    pc = azp.plot_ecdf_pit(
        tree,
        backend="matplotlib",
        col_wrap=4,
        figure_kwargs={"figsize": (11, 2.2 * -(-panels // 4) + 0.5), "layout": "constrained"},
    )
    return pc.get_viz("figure")


__all__ = [
    "SBCResult",
    "band_check",
    "calibration_table",
    "collect",
    "ecdf_figure",
    "fit_quality_counts",
    "pot_c_p_value",
    "recovery",
    "recovery_table",
    "run_sbc",
    "sbc_simulation",
    "sbc_tasks",
    "simulation_seeds",
    "test_quantities",
    "truth_prior_cdf",
    "write_outputs",
]
