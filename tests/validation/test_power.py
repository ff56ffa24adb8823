"""The power study: the checks fail on data from a deliberately wrong model.

The fits here use reduced settings (what is tested is whether a check flags data that the
model cannot have produced, not sampling quality); ``bayes-koryo power`` measures each
check's power and false-alarm rate at production settings (MODEL.md, "Power of the checks").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayes_koryo import cli
from bayes_koryo.inference.checks import CHECKS, check_failures
from bayes_koryo.study import PRODUCTION_DRAWS
from bayes_koryo.validation import power

SETTINGS = {"draws": 300, "tune": 400, "chains": 2}
SCENARIOS = {s.name: s for s in power.POWER_SCENARIOS}


def _task(name: str) -> dict:
    return power.power_tasks(simulations=2, scenarios=(SCENARIOS[name],), **SETTINGS)[0]


def test_noise_scenario_simulates_with_ten_times_the_log_sd():
    base = power.scenario_config(SCENARIOS["correct"])
    noisy = power.scenario_config(SCENARIOS["noise_10x"])
    for kind, value in base["observations"]["log_sd"].items():
        assert noisy["observations"]["log_sd"][kind] == pytest.approx(10 * value)
    assert power.scenario_config(SCENARIOS["growth_logistic"])["growth"]["form"] == "logistic"


def test_every_scenario_fits_the_baseline_with_the_same_data_set_seeds():
    tasks = power.power_tasks(simulations=3)
    assert len(tasks) == 3 * len(power.POWER_SCENARIOS)
    for scenario in SCENARIOS:
        part = [t for t in tasks if t["scenario"] == scenario]
        assert [t["seed"] for t in part] == [t["seed"] for t in tasks[:3]]
        assert {t["fitted"]["name"] for t in part} == {"baseline"}
        assert {k: part[0][k] for k in PRODUCTION_DRAWS} == PRODUCTION_DRAWS


def test_sbc_verdict_passes_uniform_ranks_and_flags_biased_ones():
    rng = np.random.default_rng(0)
    uniform = pd.DataFrame({q: rng.uniform(size=40) for q in ("a", "b")})
    assert power.sbc_verdict(uniform) == (False, [])
    biased = uniform.assign(b=rng.uniform(0.8, 1.0, size=40))  # truth above most draws
    assert power.sbc_verdict(biased) == (True, ["b"])


def test_power_table_counts_each_check_and_any_check():
    rows = []
    for i in range(4):
        row = {"scenario": "wrong", "seed": i}
        row |= {f"flagged_{c}": (c == "posterior predictive" and i < 3) for c in CHECKS}
        row |= {f"pit[{q}]": (i + 0.5) / 4 for q in power.POWER_QUANTITIES}
        row |= {f"inside_90[{q}]": True for q in power.POWER_QUANTITIES}
        rows.append(row)
    table = power.power_table(pd.DataFrame(rows)).set_index("check")
    assert table.loc["posterior predictive", "flagged"] == 3
    assert table.loc["leave-one-out", "flagged"] == 0
    assert table.loc[power.ANY_CHECK, "flagged"] == 3
    assert 0 < table.loc["posterior predictive", "share_low"] < 0.75
    assert table.loc["posterior predictive", "share_high"] > 0.75
    assert "| posterior predictive | 3 of 4 (0.75;" in power.power_markdown(table.reset_index())


@pytest.fixture(scope="module")
def noisy_fit():
    """A data set with reporting errors 10x what the baseline assumes, fitted by the baseline."""
    fitter, *_ = power.simulate_and_fit(_task("noise_10x"))
    return fitter


def test_checks_flag_data_with_ten_times_the_assumed_noise(noisy_fit):
    failures = check_failures(noisy_fit)
    assert failures["posterior predictive"], "the in-sample check missed 10x noise"


def test_check_command_fails_on_the_wrong_model_and_names_the_figures(noisy_fit, tmp_path, capsys):
    run = noisy_fit.save(tmp_path / "wrong_noise.nc")
    code = cli.main(["check", str(run)])
    out = capsys.readouterr().out
    assert code == 1
    assert any("outside its 90% posterior predictive interval" in line for line in out.splitlines())


def test_the_in_sample_check_separates_the_right_model_from_ten_times_the_noise(noisy_fit):
    """The same data-set seed simulated from the fitted model itself: far fewer figures
    outside their 90% interval than with 10x the noise (the false-alarm rate is measured by
    ``bayes-koryo power`` over many data sets, not by one)."""
    noisy = len(check_failures(noisy_fit)["posterior predictive"])
    fitter, *_ = power.simulate_and_fit(_task("correct"))
    right = len(check_failures(fitter)["posterior predictive"])
    assert right < noisy / 2, (right, noisy)
