"""Simulation-based calibration, parameter recovery and the sweep executors.

The SBC runs reuse the session's compiled baseline (``workers=1``, in-process). Reduced
settings (30 simulations, 2 chains x 150 draws after 200 warm-up) keep them to minutes;
the full run (``bayes-koryo sbc models/baseline.toml --simulations 200``) is in MODEL.md.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.stats import binom

from bayes_koryo.errors import ConfigError
from bayes_koryo.model.graph import free_parameters
from bayes_koryo.validation import sbc
from bayes_koryo.validation.sweeps import plan_chunks, run_sweep

SMALL = {"simulations": 30, "draws": 150, "tune": 200, "chains": 2, "thin": 3}
"""Settings of the test SBC (the defaults of the real run are ``sbc.SBC_SETTINGS``)."""

SMALL_SEED = sbc.SBC_SEED  # the package seed; not chosen for the outcome


@pytest.fixture(scope="module")
def partial_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("sbc_partial")


@pytest.fixture(scope="module")
def small_sbc(baseline, partial_dir):
    return sbc.run_sbc(
        baseline.config,
        observations=baseline.observations,
        seed=SMALL_SEED,
        workers=1,
        partial_dir=partial_dir,
        partial_every=10,
        **SMALL,
    )


def test_small_sbc_passes(small_sbc, baseline):
    table = small_sbc.table
    assert list(table["quantity"]) == list(sbc.test_quantities(baseline.config))
    assert set(free_parameters(baseline.config)) < set(table["quantity"])
    assert {"log_likelihood", "unique_users[2013-05-28]"} < set(table["quantity"])
    assert (table["n_simulations"] == SMALL["simulations"]).all()
    # family-wise: every quantity inside its Bonferroni-widened simultaneous band ...
    assert table["pass_familywise"].all(), table.loc[~table["pass_familywise"]].to_dict("records")
    # ... and no more 95%-band failures than a calibrated model gives (1% binomial tail)
    allowed = binom.ppf(0.99, len(table), 1 - sbc.BAND_PROB)
    assert (~table["pass"]).sum() <= allowed, small_sbc.failed
    assert ((table["band_ratio"] <= 1) == table["pass"]).all()


def test_ranks_pit_and_seeds_are_consistent(small_sbc):
    sims = small_sbc.tree["simulations"].to_dataset()
    rank, n_ranked = sims["rank"].values, sims["n_ranked"].values
    assert ((0 <= rank) & (rank <= n_ranked)).all()
    assert (n_ranked <= small_sbc.tree.attrs["max_ranked_draws"]).all()
    pit = sims["pit"].values
    assert ((rank / (n_ranked + 1) <= pit) & (pit <= (rank + 1) / (n_ranked + 1))).all()
    seeds = sims["seed"].values.tolist()
    assert seeds == sbc.simulation_seeds(SMALL_SEED, SMALL["simulations"])
    assert len(set(seeds)) == len(seeds)
    # the truth lies inside the prior's support and differs between simulations
    assert len(np.unique(sims["truth"].sel(quantity="inactive_share").values)) == len(seeds)


def test_truth_prior_cdf_is_the_prior_cdf_of_the_truths(small_sbc, baseline):
    from scipy import stats

    cdf = sbc.truth_prior_cdf(small_sbc.tree)
    assert set(cdf) == set(free_parameters(baseline.config))
    truth = small_sbc.tree["simulations"]["truth"]
    prior = baseline.config.priors["heavy_user_share"]  # Beta(alpha, beta)
    expected = stats.beta(prior.params["alpha"], prior.params["beta"]).cdf(
        truth.sel(quantity="heavy_user_share").values
    )
    np.testing.assert_allclose(cdf["heavy_user_share"], expected, rtol=1e-6)
    table = small_sbc.table.set_index("quantity")
    scalar = list(free_parameters(baseline.config))
    assert table.loc[scalar, "truth_cdf_band_ratio"].notna().all()
    assert table.loc[["log_likelihood", sbc.U_MAY_2013], "truth_cdf_band_ratio"].isna().all()
    # the data barely inform the heavy-user share: its ranks follow the truths' prior CDF
    assert table.loc["heavy_user_share", "pit_truth_cdf_correlation"] > 0.8


def test_outputs_are_written_with_seeds(small_sbc, tmp_path):
    paths = sbc.write_outputs(small_sbc, tmp_path)
    names = {p.name for p in paths}
    assert names == {
        "sbc_ranks.nc",
        "sbc_table.csv",
        "sbc_table.json",
        "sbc_ecdf.png",
        "sbc_ecdf.pdf",
        "sbc_ecdf_pit.png",
        "sbc_ecdf_pit.pdf",
        "recovery_table.csv",
        "recovery_table.json",
    }
    table = pd.read_csv(tmp_path / "sbc_table.csv")
    assert list(table["quantity"]) == list(small_sbc.table["quantity"])
    assert (table["master_seed"] == SMALL_SEED).all()
    meta = json.loads((tmp_path / "sbc_table.json").read_text())
    assert meta["simulation_seeds"] == sbc.simulation_seeds(SMALL_SEED, SMALL["simulations"])
    assert meta["passed"] == small_sbc.passed
    assert meta["settings"]["seed"] == SMALL_SEED
    tree = xr.open_datatree(tmp_path / "sbc_ranks.nc", engine="h5netcdf")
    assert set(tree["prior_sbc"].data_vars) == set(small_sbc.table["quantity"])
    assert tree["prior_sbc"].sizes == {"chain": 1, "draw": SMALL["simulations"]}
    assert tree.attrs["master_seed"] == SMALL_SEED
    assert not list(tmp_path.glob(".*.tmp"))


def test_every_fit_is_checked_against_the_convergence_gate(small_sbc, tmp_path):
    """A fit that fails the gate is counted in the outputs (and still ranked)."""
    sims = small_sbc.tree["simulations"]
    converged = sims["converged"].values
    assert set(np.unique(converged)) <= {0, 1}
    # the gate's own conditions: any divergence or R-hat > 1.01 fails it
    bad = (sims["divergences"].values > 0) | (sims["max_r_hat"].values > 1.01)
    assert (converged[bad] == 0).all()
    counts = sbc.fit_quality_counts(sims)
    assert counts["fits"] == SMALL["simulations"]
    assert counts["fits_failing_the_gate"] == int((converged == 0).sum())
    assert small_sbc.tree["prior_sbc"].sizes["draw"] == SMALL["simulations"]  # all ranked
    sbc.write_outputs(small_sbc, tmp_path, parts=("calibration",))
    meta = json.loads((tmp_path / "sbc_table.json").read_text())
    assert meta["fits_failing_the_gate"] == counts["fits_failing_the_gate"]
    assert meta["median_fit_seconds"] > 0


def test_pooled_runs_are_one_run_of_all_simulations(small_sbc):
    """Two runs with different master seeds pool into one of all their simulations; the
    same run twice is refused (it would count its simulations twice)."""
    other = small_sbc.tree.copy()
    other.attrs["master_seed"] = SMALL_SEED + 1
    pooled = sbc.pool([small_sbc.tree, other])
    n = SMALL["simulations"]
    assert pooled["prior_sbc"].sizes["draw"] == 2 * n
    assert pooled.attrs["master_seed"] == f"{SMALL_SEED}+{SMALL_SEED + 1}"
    np.testing.assert_array_equal(
        pooled["simulations"]["seed"].values[n:], small_sbc.tree["simulations"]["seed"].values
    )
    table = sbc.calibration_table(pooled)
    assert (table["n_simulations"] == 2 * n).all()
    assert (table["master_seed"] == f"{SMALL_SEED}+{SMALL_SEED + 1}").all()
    with pytest.raises(ConfigError, match="twice"):
        sbc.pool([small_sbc.tree, small_sbc.tree])
    changed = small_sbc.tree.copy()
    changed.attrs.update({"master_seed": 1, "draws": 7})
    with pytest.raises(ConfigError, match="draws"):
        sbc.pool([small_sbc.tree, changed])


def test_partial_outputs_of_a_long_sweep(small_sbc, partial_dir):
    """Every 10 finished simulations the outputs so far are saved (not after the last)."""
    meta = json.loads((partial_dir / "sbc_table.json").read_text())
    assert meta["settings"]["finished"] == 20
    assert meta["simulation_seeds"] == sbc.simulation_seeds(SMALL_SEED, 30)[:20]
    tree = xr.open_datatree(partial_dir / "sbc_ranks.nc", engine="h5netcdf")
    full = small_sbc.tree["simulations"]["rank"].values[:20]
    np.testing.assert_array_equal(tree["simulations"]["rank"].values, full)


def test_recovery_from_the_same_fits(small_sbc, baseline):
    rec = small_sbc.recovery
    assert list(rec["quantity"]) == [
        q for q in sbc.test_quantities(baseline.config) if q != "log_likelihood"
    ]
    n = SMALL["simulations"]
    assert np.allclose(rec["coverage_90_mcse"], math.sqrt(0.9 * 0.1 / n))
    # 90% intervals: no quantity below the 0.1% binomial tail (Bonferroni over quantities)
    floor = binom.ppf(0.001 / len(rec), n, 0.9) / n
    assert (rec["coverage_90"] >= floor).all(), rec[["quantity", "coverage_90"]]
    # quantities the data pin down are recovered: posterior median tracks the truth
    pinned = rec.set_index("quantity").loc[["inactive_share", "unique_users[2013-05-28]"]]
    assert (pinned["median_truth_correlation"] > 0.9).all(), pinned
    assert (pinned["contraction"] > 0.5).all(), pinned


def test_cli_sbc_and_recovery_exit_codes(small_sbc, monkeypatch, tmp_path, capsys):
    """exit 0 when every quantity passes, 1 (ThresholdError) when one fails; the fits are
    the small SBC's (run_sbc replaced), so this tests the command, not the sampler."""
    import dataclasses

    from bayes_koryo.cli import main

    calls = []

    def fake_run_sbc(config, **kwargs):
        calls.append(kwargs)
        return result

    monkeypatch.setattr(sbc, "run_sbc", fake_run_sbc)
    result = (
        small_sbc
        if small_sbc.passed
        else dataclasses.replace(small_sbc, table=small_sbc.table.assign(**{"pass": True}))
    )
    args = ["models/baseline.toml", "--simulations", "30", "--seed", "5", "--workers", "1"]
    assert main(["sbc", *args, "--out-dir", str(tmp_path / "ok")]) == 0
    assert calls[-1]["seed"] == 5 and calls[-1]["simulations"] == 30
    assert calls[-1]["draws"] == sbc.SBC_SETTINGS["draws"]
    assert (tmp_path / "ok" / "sbc_table.csv").exists()
    table = result.table.copy()
    table.loc[table["quantity"] == "ceiling_share", "pass"] = False
    result = dataclasses.replace(result, table=table)
    assert main(["sbc", *args, "--out-dir", str(tmp_path / "fail")]) == 1
    assert "ceiling_share" in capsys.readouterr().err
    assert main(["recovery", *args, "--out-dir", str(tmp_path / "rec")]) == 0
    assert {p.name for p in (tmp_path / "rec").iterdir()} == {
        "sbc_ranks.nc",
        "recovery_table.csv",
        "recovery_table.json",
    }


def _doubled_counts(kmodel, seed):
    """A broken simulator: the reported figures of a user ceiling twice the true one."""
    simulated, truth = _real_simulator(kmodel, seed)
    simulated = simulated.copy()
    for column in ("value", "lower", "upper"):
        simulated[column] = simulated[column] * 2
    return simulated, truth


_real_simulator = sbc.simulate_observations


def test_broken_simulator_is_caught(baseline, monkeypatch):
    monkeypatch.setattr(sbc, "simulate_observations", _doubled_counts)
    broken = sbc.run_sbc(
        baseline.config,
        observations=baseline.observations,
        seed=SMALL_SEED,
        workers=1,
        **{**SMALL, "simulations": 10},
    )
    assert not broken.passed
    assert not broken.table["pass_familywise"].all()
    assert "unique_users[2013-05-28]" in broken.failed
    # the data say twice as many SIMs as the truth implies: the true U(May 2013) sits below
    # its posterior, so its ranks pile up at 0
    sims = broken.tree["simulations"]
    assert np.mean(sims["pit"].sel(quantity="unique_users[2013-05-28]").values < 0.1) > 0.5


def test_sweep_workers_and_a_dask_worker_give_the_same_results_as_this_process(baseline):
    """The same SBC tasks and seeds give bit-identical results in this process (whose
    compiled model has served other fits), in two local worker processes and on a Dask
    cluster of two single-thread workers (each compiling the model itself): no retries, no
    tolerance."""
    distributed = pytest.importorskip("distributed")
    tasks = sbc.sbc_tasks(
        baseline.config,
        baseline.observations,
        simulations=2,
        seed=SMALL_SEED,
        draws=30,
        tune=60,
        chains=2,
        thin=1,
    )
    local = run_sweep(sbc.sbc_simulation, tasks, workers=1)
    pool = run_sweep(sbc.sbc_simulation, tasks, workers=2)
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        remote = run_sweep(sbc.sbc_simulation, tasks, scheduler=cluster.scheduler_address)
    assert len(remote) == len(pool) == len(local) == 2
    for other in (pool, remote):
        for a, b in zip(local, other, strict=True):
            assert a["seed"] == b["seed"]
            for key in (
                "truth",
                "rank",
                "pit",
                "median",
                "sd",
                "eti90_low",
                "eti90_high",
                "element_rank",
            ):
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)
            assert a["divergences"] == b["divergences"]


def test_a_dask_worker_with_more_than_one_thread_is_refused():
    """Compiled models are cached per process: threaded Dask workers are refused with one line,
    before any task is sent (run_sweep) and by the task itself (run_chunk on such a worker)."""
    distributed = pytest.importorskip("distributed")
    from bayes_koryo.errors import ClusterError
    from bayes_koryo.validation.sweeps import run_chunk

    with distributed.LocalCluster(
        n_workers=1, processes=False, threads_per_worker=2, dashboard_address=None
    ) as cluster:
        with pytest.raises(ClusterError, match=r"2 threads.*--nthreads 1") as refused:
            run_sweep(math.factorial, [3, 4], scheduler=cluster.scheduler_address)
        assert "\n" not in str(refused.value)
        with distributed.Client(cluster) as client:
            future = client.submit(run_chunk, math.factorial, [3], pure=False)
            with pytest.raises(ClusterError, match="2 threads"):
                future.result()


def test_run_sweep_keeps_task_order_across_processes():
    tasks = list(range(2, 9))
    assert run_sweep(math.factorial, tasks, workers=2) == [math.factorial(t) for t in tasks]
    assert run_sweep(math.factorial, tasks, workers=1) == [math.factorial(t) for t in tasks]
    assert run_sweep(math.factorial, [], workers=2) == []
    with pytest.raises(ValueError):
        run_sweep(math.factorial, tasks, workers=0)
    with pytest.raises(ValueError):  # a failing task stops the sweep with its error
        run_sweep(math.factorial, [3, -1, 4], workers=2)


def test_results_arrive_as_tasks_finish():
    """on_result/progress see each result when it is ready, not when the sweep ends."""
    import time

    start, arrivals = time.perf_counter(), []
    results = run_sweep(
        time.sleep,
        [4.0, 0.0, 0.0, 0.0],
        workers=2,
        on_result=lambda i, r: arrivals.append((i, time.perf_counter() - start)),
    )
    assert results == [None] * 4
    assert sorted(i for i, _ in arrivals) == [0, 1, 2, 3]
    assert arrivals[-1][0] == 0  # the slow task last ...
    assert arrivals[0][1] < arrivals[-1][1] - 2.0  # ... and the others well before it


def test_plan_chunks_sends_a_structure_to_few_workers():
    tasks = [{"structure": "a"}] * 6 + [{"structure": "b"}] * 2
    chunks = plan_chunks(tasks, workers=2)
    assert sorted(i for c in chunks for i in c) == list(range(8))
    assert [6, 7] in chunks  # the small structure stays in one process
    assert all(len(c) == 1 for c in chunks if c[0] < 6)  # the large one balances the load
    three = [{"structure": s} for s in "aaabbbccc"]
    assert plan_chunks(three, workers=2) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]


def test_sbc_rejects_impossible_settings(baseline):
    from bayes_koryo.errors import ConfigError

    with pytest.raises(ConfigError, match="simulations"):
        sbc.sbc_tasks(baseline.config, baseline.observations, simulations=1)
    with pytest.raises(ConfigError, match="thin"):
        sbc.sbc_tasks(baseline.config, baseline.observations, simulations=2, draws=10, thin=20)


def test_band_ratio_reads_distance_to_the_band_not_the_ends():
    """An evenly spread PIT sample sits well inside (its ECDF touches the cut-off band ends
    by construction, which must not read as 'at the band'); a skewed one leaves it."""
    n = 100
    x, lower, upper = sbc.simultaneous_band(n, sbc.BAND_PROB, 2000, sbc.BAND_SEED)
    even = (np.arange(n) + 0.5) / n
    assert lower[1] == 0.0  # the band is cut off at 0 next to the lower end
    nudged = even.copy()
    nudged[0] = 2.5 / n  # ECDF 0 at x = 1/n and 2/n: on the cut-off bound, 1/n from x
    inside, ratio, max_diff = sbc.band_check(nudged, x, lower, upper)
    assert inside and ratio < 0.5 and math.isclose(max_diff, 1 / n)
    inside, ratio, _ = sbc.band_check(even**2, x, lower, upper)
    assert not inside and ratio > 1


def test_the_simultaneous_band_from_arviz_has_its_nominal_coverage():
    """``simultaneous_band`` calls ``arviz_stats.ecdf_utils.ecdf_pit``, a module ArviZ does not
    export (hence the pin arviz-stats<1.4): its 95% band must contain the whole ECDF of n
    uniform draws in about 95% of fresh samples, and be monotone and inside [0, 1]."""
    n, trials = 100, 2000
    x, lower, upper = sbc.simultaneous_band(n, 0.95, trials=20_000, seed=5)
    assert np.all(np.diff(lower) >= 0) and np.all(np.diff(upper) >= 0)
    assert np.all((lower >= 0) & (upper <= 1) & (lower <= x) & (x <= upper))
    rng = np.random.default_rng(6)
    inside = [sbc.band_check(rng.uniform(size=n), x, lower, upper)[0] for _ in range(trials)]
    coverage = float(np.mean(inside))
    assert abs(coverage - 0.95) < 4 * math.sqrt(0.95 * 0.05 / trials), coverage


def test_tables_of_a_run_file_from_an_earlier_version_use_its_own_quantities():
    """docs/sbc_0.4.0/ holds package 0.4.0's runs, whose pace vector is `pace_innovation_observed`:
    the calibration and recovery tables read the names the run stored, not this version's."""
    path = Path(__file__).resolve().parents[2] / "docs" / "sbc_0.4.0" / "pooled" / "sbc_ranks.nc"
    with xr.open_datatree(path, engine="h5netcdf") as opened:
        tree = opened.load()
    stored = [str(q) for q in tree["simulations"]["quantity"].values]
    recovery = sbc.recovery_table(tree)
    assert list(recovery["quantity"]) == [q for q in stored if q != sbc.LOG_LIKELIHOOD]
    assert list(sbc.calibration_table(tree)["quantity"]) == list(tree["prior_sbc"].data_vars)
