"""Reliability: reproducibility.

Same config + seed gives bit-identical posterior draws in two separate processes, and the
run id changes whenever data, config, seed, sampler settings or versions change.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

from bayes_koryo.data import load_observations
from bayes_koryo.inference import runs
from bayes_koryo.model.config import default_config

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("bayes-koryo")


def fake_model(config=None, observations=None, seed=5, draws=100):
    """Just what run_attributes reads from a fitted KoryoModel."""
    attrs = {
        "seed": seed,
        "sampler": "nutpie",
        "draws": draws,
        "tune": 100,
        "chains": 2,
        "target_accept": 0.9,
        "adaptation": "diag",
        "max_tree_depth": 12,
    }
    return SimpleNamespace(
        config=config or default_config(),
        observations=load_observations() if observations is None else observations,
        idata=SimpleNamespace(attrs=attrs),
        diagnostics=None,
    )


def test_run_id_is_stable_and_changes_with_every_input(monkeypatch):
    base = runs.run_attributes(fake_model())
    assert runs.run_attributes(fake_model())["run_id"] == base["run_id"]  # deterministic
    changed_data = load_observations()
    changed_data.loc[0, "value"] += 1
    variants = {
        "data": fake_model(observations=changed_data),
        "config": fake_model(
            config=default_config().replace(priors={"official_share": {"alpha": 4.0}})
        ),
        "seed": fake_model(seed=6),
        "sampler": fake_model(draws=101),
    }
    ids = {name: runs.run_attributes(m)["run_id"] for name, m in variants.items()}
    real_versions = runs.versions()
    monkeypatch.setattr(runs, "versions", lambda: {**real_versions, "pymc": "0.0.1"})
    ids["versions"] = runs.run_attributes(fake_model())["run_id"]
    monkeypatch.undo()
    # the coverage figures the model reads from the bundled network file count too
    from bayes_koryo import data

    real_network = data.load_network()

    def edited_network(path=None):
        network = real_network.copy()
        network.loc[network["population_coverage"].notna().idxmax(), "population_coverage"] = 0.61
        return network

    monkeypatch.setattr(data, "load_network", edited_network)
    coverage = runs.run_attributes(fake_model())
    ids["coverage"] = coverage["run_id"]
    assert coverage["coverage_hash"] != base["coverage_hash"]
    assert coverage["data_hash"] == base["data_hash"]
    assert len({base["run_id"], *ids.values()}) == 7, ids
    assert base["converged"] == 0  # no diagnostics: never marked converged


def test_run_id_hashes_exactly_its_inputs():
    a = runs.run_id("{}", "d" * 64, 1, "{}", "{}")
    assert a == runs.run_id("{}", "d" * 64, 1, "{}", "{}") and len(a) == 16
    assert (
        len(
            {
                a,
                runs.run_id("{}", "e" * 64, 1, "{}", "{}"),
                runs.run_id("{}", "d" * 64, 2, "{}", "{}"),
                runs.run_id('{"a": 1}', "d" * 64, 1, "{}", "{}"),
                runs.run_id("{}", "d" * 64, 1, '{"draws": 1}', "{}"),
                runs.run_id("{}", "d" * 64, 1, "{}", '{"pymc": "6"}'),
            }
        )
        == 6
    )


@pytest.mark.slow
def test_same_seed_same_draws_in_fresh_processes_cold_cache_and_after_other_fits(
    baseline, tmp_path
):
    """A fit's draws are a pure function of config, data, seed and package version.

    Two separate `bayes-koryo fit` processes run concurrently with tiny settings (they do
    not converge, hence --allow-unconverged): one with PyTensor's on-disk numba cache of
    this machine, the other with an empty one (it compiles every helper afresh — with
    ``fastmath`` on, helpers it could inline gave other bits than cached ones, hence other
    draws; ``bayes_koryo.model.numerics``). Then the same fit in this test process, whose
    compiled model has already served other fits. All posterior arrays must be exactly
    equal — not close: equal.
    """
    from bayes_koryo.inference.fit import KoryoModel

    outs = [tmp_path / "warm.nc", tmp_path / "cold.nc"]
    envs = [
        {**os.environ, "PYTHONHASHSEED": "random"},
        {
            **os.environ,
            "PYTHONHASHSEED": "random",
            "PYTENSOR_FLAGS": f"base_compiledir={tmp_path / 'empty_cache'}",
            "NUMBA_CACHE_DIR": str(tmp_path / "empty_numba_cache"),
        },
    ]
    procs = [
        subprocess.Popen(
            [
                str(CLI),
                "fit",
                str(ROOT / "models" / "baseline.toml"),
                "--out",
                str(out),
                "--seed",
                "11",
                "--draws",
                "25",
                "--tune",
                "25",
                "--chains",
                "2",
                "--allow-unconverged",
                "--no-progress",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for out, env in zip(outs, envs, strict=True)
    ]
    in_process = KoryoModel()  # shares the session's compiled model (after other fits)
    in_process.fit(seed=11, draws=25, tune=25, chains=2, log_densities=False)
    assert in_process.compile_seconds == 0.0
    for proc in procs:
        _, err = proc.communicate(timeout=1800)
        assert proc.returncode == 0, err
    assert any((tmp_path / "empty_cache").iterdir())  # the cold process did compile there
    a, b = (xr.open_datatree(out, engine="h5netcdf").load() for out in outs)
    assert a.attrs["run_id"] == b.attrs["run_id"] and a.attrs["seed"] == 11
    posterior_a, posterior_b = a["posterior"].to_dataset(), b["posterior"].to_dataset()
    assert set(posterior_a) == set(posterior_b) and "unique_users" in posterior_a
    here = in_process.idata["posterior"].to_dataset()
    for name in posterior_a:
        np.testing.assert_array_equal(
            posterior_a[name].values, posterior_b[name].values, err_msg=name
        )
        np.testing.assert_array_equal(
            posterior_a[name].values, here[name].values, err_msg=f"in-process {name}"
        )
    for group in ("sample_stats", "prior", "posterior_predictive"):
        for name, values in a[group].to_dataset().items():
            np.testing.assert_array_equal(
                values.values, b[group][name].values, err_msg=f"{group}/{name}"
            )
    assert json.loads(a.attrs["sampler_json"])["draws"] == 25
    assert json.loads(a.attrs["versions_json"])["pytensor.numba__fastmath"] == "False"


def test_numba_code_is_compiled_without_fastmath():
    """``bayes_koryo.model.numerics``: importing the model turns PyTensor's fastmath off, and
    building a model turns it off again if the process switched it back on."""
    import pytensor

    from bayes_koryo.model.graph import build_model

    assert pytensor.config.numba__fastmath is False
    with pytensor.config.change_flags(numba__fastmath=True):
        build_model(load_observations(), default_config())
        assert pytensor.config.numba__fastmath is False


def test_starting_points_do_not_depend_on_which_model_compiled_first(baseline):
    """Models of one structure share a compiled model; the starting points of a fit must come
    from the fitted model's own prior values, not from those of the model compiled first
    (else a variant's draws depend on the order a sweep fits it in)."""
    from pymc.initial_point import make_initial_point_fn

    from bayes_koryo.inference.fit import KoryoModel
    from bayes_koryo.model.config import load_config

    variant = KoryoModel(load_config(ROOT / "models" / "official_high.toml"))
    assert variant.structure_key() == baseline.structure_key()  # reuses baseline's compile
    own = make_initial_point_fn(
        model=variant.model, jitter_rvs=set(variant.model.free_RVs), return_transformed=True
    )(7)
    names = [variant.model.rvs_to_values[rv].name for rv in variant.model.free_RVs]
    expected = np.concatenate([np.ravel(own[name]) for name in names])
    np.testing.assert_array_equal(variant.compiled().initial_point_func(7), expected)
    assert not np.array_equal(baseline.compiled().initial_point_func(7), expected)


def test_every_structural_switch_changes_the_structure_key():
    """Models with equal structure keys share one compiled model, so each ``[structure]``
    switch (and its every allowed value) must change the key; a switch left out of the key
    would hand a variant another structure's compiled model (wrong dimension or graph)."""
    from bayes_koryo.inference.fit import structure_key
    from bayes_koryo.model.config import CEILING_PRIORS, COMPOSITIONS, DEFAULTS

    observations = load_observations()
    choices = {
        "shared_phones": (False, True),
        "ceiling_prior": CEILING_PRIORS,
        "composition": COMPOSITIONS,
    }
    assert set(choices) == set(DEFAULTS["structure"])  # a new switch must be listed here
    base = structure_key(default_config(), observations)
    for switch, values in choices.items():
        for value in values:
            if value == DEFAULTS["structure"][switch]:
                continue
            config = default_config().replace(structure={switch: value})
            assert structure_key(config, observations) != base, (switch, value)
