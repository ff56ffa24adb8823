"""Sensitivity (power-scaling, contraction, overlap, model variants) and leave-future-out.

Cost: reuses the session fixtures (baseline compiled once, fitted at 2x250); the variant
sweep refits the baseline structure (no compile); the LFO test is ONE small case (one
cut-off, baseline growth form, 2 x 100 draws) and compiles one new structure (~45 s).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from bayes_koryo.validation import lfo
from bayes_koryo.validation import sensitivity as sens

MODELS = Path(__file__).resolve().parents[2] / "models"
TINY = {"draws": 100, "tune": 150, "chains": 2}


# --------------------------------------------------------------------------- thresholds


def test_contraction_flag_follows_stated_thresholds():
    assert sens.contraction_flag(sens.CONTRACTION_DATA_DRIVEN, 0.99) == "data-driven"
    assert sens.contraction_flag(0.9, 0.1) == "data-driven"
    just_below = sens.CONTRACTION_DATA_DRIVEN - 1e-9
    assert sens.contraction_flag(just_below, 0.9) == "weakly identified"
    small = sens.CONTRACTION_SMALL - 1e-9
    assert sens.contraction_flag(small, sens.OVERLAP_PRIOR_DOMINATED) == "prior-dominated"
    assert sens.contraction_flag(small, sens.OVERLAP_PRIOR_DOMINATED - 1e-9) == "weakly identified"
    assert sens.contraction_flag(-0.1, 0.95) == "prior-dominated"


def test_psense_diagnosis_follows_threshold():
    t = sens.PSENSE_THRESHOLD
    assert sens.diagnose_psense(t, t) == "prior-data conflict"
    assert sens.diagnose_psense(0.2, t - 1e-9) == "strong prior / weak likelihood"
    assert sens.diagnose_psense(t - 1e-9, 0.5) == "-"
    assert sens.diagnose_psense(0.0, 0.0) == "-"


def test_overlap_coefficient_extremes():
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, 20000)
    assert sens.overlap_coefficient(a, rng.normal(0, 1, 20000)) > 0.95
    assert sens.overlap_coefficient(a, rng.normal(20, 1, 20000)) < 0.02
    # N(0,1) vs N(1,1): true OVL = 2 Phi(-1/2) = 0.617
    assert (
        abs(sens.overlap_coefficient(a, rng.normal(1, 1, 20000)) - 2 * stats.norm.cdf(-0.5)) < 0.04
    )


def _conjugate_tree(prior_sd: float, y: np.ndarray, noise_sd: float, seed: int = 3):
    """Exact posterior draws of a normal mean with its log prior and log likelihood."""
    rng = np.random.default_rng(seed)
    precision = 1 / prior_sd**2 + len(y) / noise_sd**2
    mean = (y.sum() / noise_sd**2) / precision
    theta = rng.normal(mean, precision**-0.5, size=(4, 2000))
    dims = ("chain", "draw")
    lp = stats.norm.logpdf(theta, 0, prior_sd)
    ll = stats.norm.logpdf(y[None, None, :], theta[..., None], noise_sd)
    return xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset({"theta": (dims, theta)}),
            "log_prior": xr.Dataset({"theta": (dims, lp)}),
            "log_likelihood": xr.Dataset({"y": ((*dims, "obs"), ll)}),
        }
    )


@pytest.mark.parametrize(
    ("prior_sd", "y", "noise_sd", "expected"),
    [
        (0.1, np.zeros(1), 10.0, "strong prior / weak likelihood"),  # prior decides
        (100.0, np.zeros(50), 1.0, "-"),  # data decide
        (0.3, np.full(20, 3.0), 0.5, "prior-data conflict"),  # both, disagreeing
    ],
)
def test_psense_frame_diagnoses_synthetic_cases(prior_sd, y, noise_sd, expected):
    table = sens.psense_frame(_conjugate_tree(prior_sd, y, noise_sd))
    assert table.loc[0, "diagnosis"] == expected


# --------------------------------------------------------------------------- fitted baseline


def test_sensitivity_table_on_fitted(fitted):
    table = sens.sensitivity_table(fitted)
    expected = {
        "quantity",
        "prior_median",
        "prior_ci_low",
        "prior_ci_high",
        "median",
        "ci_low",
        "ci_high",
        "mcse_median",
        "ci_prob",
        "ci_kind",
        "contraction",
        "contraction_mcse",
        "overlap",
        "flag",
        "prior_draws",
        "prior_seed",
        "prior_sensitivity",
        "likelihood_sensitivity",
        "diagnosis",
    }
    assert expected <= set(table.columns)
    from bayes_koryo.model.graph import free_parameters

    names = set(table["quantity"])
    assert set(free_parameters(fitted.config)) <= names
    for q in (
        "unique_users[2012-02-02]",
        "unique_users[2013-05-28]",
        "real_user_share",
        "sims_per_user",
        "user_ceiling",
        "penetration_10plus[2013-05-28]",
        "decomposition_unique_users",
        "decomposition_extra_sims",
        "decomposition_official_lines",
        "decomposition_inactive_numbers",
    ):
        assert q in names
    numeric = table[
        [
            "median",
            "ci_low",
            "ci_high",
            "mcse_median",
            "contraction",
            "contraction_mcse",
            "overlap",
            "prior_sensitivity",
            "likelihood_sensitivity",
        ]
    ]
    assert np.isfinite(numeric.to_numpy(float)).all()
    assert ((table["overlap"] >= 0) & (table["overlap"] <= 1)).all()
    assert (table["contraction"] <= 1).all()
    for row in table.itertuples():
        assert row.flag == sens.contraction_flag(row.contraction, row.overlap)
        assert row.diagnosis == sens.diagnose_psense(
            row.prior_sensitivity, row.likelihood_sensitivity
        )
    # the 800k statement pins the inactive share; nothing pins the population total
    by = table.set_index("quantity")
    assert by.loc["inactive_share", "contraction"] > by.loc["population_total", "contraction"]
    assert by.loc["population_total", "overlap"] > 0.7
    assert (table["prior_seed"] == fitted.idata.attrs["prior_seed"]).all()


def test_sensitivity_table_cli(fitted, tmp_path):
    from bayes_koryo.cli import main

    run = tmp_path / "fixture.nc"
    fitted.save(run)
    assert main(["sensitivity-table", str(run), "--out", str(tmp_path / "sens")]) == 0
    table = pd.read_csv(tmp_path / "sens.csv")
    assert len(table) > 20 and "diagnosis" in table
    assert "power-scaling" in (tmp_path / "sens.md").read_text()
    by_prior = pd.read_csv(tmp_path / "sens_by_prior.csv")
    assert "unique_users[2013-05-28]" in set(by_prior["quantity"])
    assert {"most_influential_prior", "prior_heavy_users", "max_pareto_k"} <= set(by_prior)


# --------------------------------------------------------------------------- variants


@pytest.mark.parametrize("path", sorted(MODELS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_model_toml_builds(path):
    from bayes_koryo.inference.fit import KoryoModel

    model = KoryoModel(path)  # builds the PyMC model and checks the initial point
    assert model.config.name == path.stem
    assert model.config.description
    text = path.read_text()
    assert text.lstrip().startswith("#")  # every variant says what it changes and why
    if path.stem != "baseline":
        assert 'extends = "baseline.toml"' in text


def test_variant_sweep_reuses_compiled_structure(baseline, tmp_path):
    paths = [MODELS / "baseline.toml", MODELS / "official_high.toml"]
    table = sens.run_variants(paths, sens.VariantSettings(seed=11, **TINY), workers=1)
    assert list(table["variant"]) == ["baseline", "official_high"]
    assert (table["compile_seconds"] == 0).all()  # same structure as the session fixture
    assert (table["seed"] == 11).all()
    for _, _, label, _ in sens.VARIANT_QUANTITIES:
        assert table.loc[0, f"{label} shift"] == 0
        assert (table[f"{label} ci_low"] < table[f"{label} median"]).all()
        assert (table[f"{label} mcse_median"] > 0).all()
    # more official lines (mean 0.25 vs 0.13) leave fewer real users per SIM
    assert table.loc[1, "U/S shift"] < -0.03
    paths = sens.write_variants(table, tmp_path, {"seed": 11})
    assert {p.name for p in paths} == {
        "variants.csv",
        "variants.json",
        "variants.md",
        "tornado.png",
        "tornado.pdf",
    }
    assert all(p.stat().st_size > 0 for p in paths)


# --------------------------------------------------------------------------- leave-future-out


def test_interval_score_matches_scipy():
    mu = np.array([-0.2, 0.0, 0.05, 0.3])
    lo, hi, sd = 0.0, math.log(1.05), 0.01
    with np.errstate(divide="ignore"):
        expected = np.log(stats.norm.cdf(hi, mu, sd) - stats.norm.cdf(lo, mu, sd))
    got = lfo._interval_logp(mu, lo, hi, sd)
    finite = np.isfinite(expected)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-6)
    assert np.all(np.isfinite(got))  # the stable form stays finite far from the cell


def test_split_observations():
    from bayes_koryo.data import load_observations

    obs = load_observations()
    train, test = lfo.split_observations(obs, "2011-09-30", ["audited_quarterly", "milestone"])
    assert train["date"].max() <= pd.Timestamp("2011-09-30")
    assert (test["date"] > pd.Timestamp("2011-09-30")).all()
    assert set(test["kind"]) == {"milestone"} and (test["quantity"] == "subscribers").all()


def test_lfo_one_small_case():
    """ONE small case: one cut-off, the baseline growth form, 2 x 100 draws (one compile);
    at these settings the refit may miss the gate, so the smoke summary compares it anyway
    and says so."""
    scores, summary = lfo.run_lfo(
        [MODELS / "baseline.toml"],
        ["2011-09-30"],
        sens.VariantSettings(seed=5, **TINY),
        workers=1,
        converged_only=False,
    )
    unconverged = "" if scores["converged"].all() else "2011-09-30"
    assert (summary["cutoffs_unconverged_compared"] == unconverged).all()
    # a refit that missed the gate was retried once, and the first failure is recorded
    retried = scores["attempts"] == 2
    assert set(scores["attempts"]) <= {1, 2}
    assert (scores.loc[retried, "first_attempt"] != "passed").all()
    assert (scores.loc[~retried, "first_attempt"] == "passed").all()
    # later subscriber figures: Dec 2011, both milestones and both 2012-13 statements
    assert len(scores) == 5
    assert np.isfinite(scores["elpd"]).all()
    assert scores["inside_90"].dtype == bool
    assert (scores["inside_90"] >= scores["inside_50"]).all()
    total = summary[summary["cutoff"] == "all"].iloc[0]
    assert math.isclose(total["elpd"], scores["elpd"].sum())
    assert total["elpd_diff"] == 0 and 0 <= total["coverage_90"] <= 1
    assert (scores["seed"] == 5).all()


def test_lfo_summary_standard_errors_by_figure_and_by_cutoff():
    """Paired per-figure SE and the per-cut-off (block) SE of the ELPD difference, by hand."""
    rows = []
    # model b is worse than a by 1.0, 1.2 at cut-off 1 and by 0.1, 0.3 at cut-off 2
    for cutoff, deltas in (("2011-06-30", (1.0, 1.2)), ("2012-02-29", (0.1, 0.3))):
        for i, delta in enumerate(deltas):
            base = -2.0 - i
            for model, elpd in (("a", base), ("b", base - delta)):
                rows.append(
                    {
                        "model": model,
                        "growth_form": model,
                        "cutoff": cutoff,
                        "kind": "milestone",
                        "date": f"2012-0{i + 1}-01",
                        "elpd": elpd,
                        "inside_50": True,
                        "inside_90": True,
                        "converged": True,
                    }
                )
    summary = lfo.summarise_lfo(pd.DataFrame(rows))
    total = summary[(summary["cutoff"] == "all")].set_index("model")
    assert total.loc["a", "elpd_diff"] == 0
    assert math.isclose(total.loc["b", "elpd_diff"], -2.6)
    per_figure = np.array([-1.0, -1.2, -0.1, -0.3])
    assert math.isclose(total.loc["b", "elpd_diff_se"], math.sqrt(4 * per_figure.var(ddof=1)))
    per_cutoff = np.array([-2.2, -0.4])
    assert math.isclose(
        total.loc["b", "elpd_diff_se_cutoffs"], math.sqrt(2 * per_cutoff.var(ddof=1))
    )
    # the per-figure SE understates the spread across cut-offs here
    assert total.loc["b", "elpd_diff_se_cutoffs"] > total.loc["b", "elpd_diff_se"]
    assert total.loc["b", "cutoffs_worse"] == 2 and total.loc["a", "cutoffs_worse"] == 0
    one = summary[summary["cutoff"] == "2011-06-30"].set_index("model")
    assert math.isnan(one.loc["b", "elpd_diff_se_cutoffs"])


def test_lfo_never_compares_an_unconverged_refit():
    """A cut-off at which one model's refit missed the gate is left out for every model."""
    rows = [
        {
            "model": model,
            "growth_form": model,
            "cutoff": cutoff,
            "kind": "milestone",
            "date": "2013-05-28",
            "elpd": elpd,
            "inside_50": True,
            "inside_90": True,
            "converged": not (model == "b" and cutoff == "2011-06-30"),
        }
        for cutoff, elpds in (("2011-06-30", (-2.0, -9.0)), ("2012-02-29", (-2.0, -1.0)))
        for model, elpd in zip(("a", "b"), elpds, strict=True)
    ]
    summary = lfo.summarise_lfo(pd.DataFrame(rows))
    total = summary[summary["cutoff"] == "all"].set_index("model")
    # only the converged cut-off counts: b is ahead there, by 1.0
    assert total.loc["b", "elpd_diff"] == 0 and total.loc["a", "elpd_diff"] == -1.0
    assert set(summary["cutoff"]) == {"all", "2012-02-29"}
    assert (summary["cutoffs_left_out"] == "2011-06-30").all()
    assert total.loc["b", "fits_unconverged"] == 1 and total.loc["a", "fits_unconverged"] == 0
    every = pd.DataFrame(rows).assign(converged=False)
    nothing = lfo.summarise_lfo(every)  # still a table to write: nothing is lost
    assert lfo.nothing_compared(nothing) and not lfo.nothing_compared(summary)
    assert list(nothing["model"]) == ["a", "b"] and (nothing["fits_unconverged"] == 2).all()
    assert nothing["elpd"].isna().all()
    assert (nothing["cutoffs_left_out"] == "2011-06-30; 2012-02-29").all()


def test_every_sweep_task_carries_the_one_structure_key(baseline):
    """SBC, LFO and variant tasks name their compiled structure with the structure key of the
    model they fit, so tasks that share compiled code go to the same worker processes."""
    from bayes_koryo import KoryoModel
    from bayes_koryo.model.config import config_from_dict
    from bayes_koryo.validation import sbc

    (task, _) = sbc.sbc_tasks(baseline.config, baseline.observations, simulations=2)
    assert task["structure"] == baseline.structure_key()
    path = MODELS / "growth_logistic.toml"
    cutoff = lfo.DEFAULT_CUTOFFS[0]
    task = lfo.lfo_task(path, cutoff)
    config = config_from_dict(task["config"], source=str(path))
    train, _ = lfo.split_observations(baseline.observations, cutoff, config.kinds)
    assert task["structure"] == KoryoModel(config, train).structure_key()
    assert task["structure"] != lfo.lfo_task(path, lfo.DEFAULT_CUTOFFS[1])["structure"]


def test_every_prior_of_every_shipped_config_is_in_one_group():
    from bayes_koryo.model.config import load_config, shipped_configs
    from bayes_koryo.model.graph import PACE_VECTORS
    from bayes_koryo.model.priors import PRIOR_GROUPS, prior_groups

    members = [n for names in PRIOR_GROUPS.values() for n in names]
    assert len(members) == len(set(members))
    for path in shipped_configs():
        config = load_config(path)
        names = [*config.priors, *PACE_VECTORS]
        assert sorted(n for g in prior_groups(names).values() for n in g) == sorted(names)
    with pytest.raises(ValueError, match="no group"):
        prior_groups(["population_total", "not_a_prior"])


def test_prior_group_sensitivity_names_the_prior_each_quantity_rests_on(fitted):
    """Each group of priors is power-scaled alone: the user ceiling rests on the ceiling prior,
    the official lines of May 2013 on the official-share prior (what the model says they are)."""
    table = sens.prior_group_sensitivity(fitted).set_index("quantity")
    groups = [c for c in table.columns if c.startswith("prior_") and c != "prior_sensitivity"]
    assert {"prior_demography", "prior_ceiling", "prior_heavy_users"} <= set(groups)
    assert (table[[*groups, "prior_sensitivity", "likelihood_sensitivity"]] >= 0).all().all()
    assert table.loc["user_ceiling", "most_influential_prior"] == "ceiling"
    assert table.loc["decomposition_official_lines", "most_influential_prior"] == "official_share"
    assert (table["max_pareto_k"] < 0.7).all()
    assert set(table["diagnosis"]) <= {"prior-data conflict", "strong prior / weak likelihood", "-"}


def test_a_fit_up_to_a_cutoff_sees_no_later_coverage_figure(baseline):
    """Leave-future-out without leakage: the coverage path of a fit on the figures up to a
    cut-off is interpolated through the network figures dated on or before it only."""
    from bayes_koryo import KoryoModel
    from bayes_koryo.data import load_network

    reported = load_network().dropna(subset=["population_coverage"])
    cutoff = "2010-12-31"
    train, _ = lfo.split_observations(baseline.observations, cutoff, baseline.config.kinds)
    early = KoryoModel(baseline.config, train)
    knots = early.model["coverage_weights"].get_value().shape[1]
    assert knots == 2 + int((reported["date"] <= pd.Timestamp(cutoff)).sum()) == 5
    full = baseline.model["coverage_weights"].get_value().shape[1]
    assert full == 2 + len(reported)


def test_lfo_calibration_by_horizon_counts_each_models_own_converged_refits():
    """Horizon bands from cut-off to figure date; a model's unconverged refit is counted,
    not scored, and does not remove another model's figures (unlike the comparison)."""
    rows = []
    for model in ("a", "b"):
        for cutoff, date, inside_90 in (
            ("2010-12-31", "2011-06-30", True),  # 0.5 years
            ("2010-12-31", "2012-11-15", False),  # 1.9 years
            ("2010-06-30", "2013-05-28", True),  # 2.9 years
            ("2010-06-30", "2010-12-31", True),  # 0.5 years
        ):
            rows.append(
                {
                    "model": model,
                    "cutoff": cutoff,
                    "date": date,
                    "elpd": -1.0,
                    "inside_50": False,
                    "inside_90": inside_90,
                    "pit": 0.9 if inside_90 else 0.99,
                    "converged": not (model == "b" and cutoff == "2010-06-30"),
                }
            )
    table = lfo.horizon_calibration(pd.DataFrame(rows)).set_index(["model", "horizon"])
    a, b = table.loc["a"], table.loc["b"]
    assert list(a.index) == ["0-1 years", "1-2 years", "2-3 years"]
    assert list(a["figures"]) == [2, 1, 1] and list(b["figures"]) == [1, 1, 0]
    assert a.loc["1-2 years", "coverage_90"] == 0.0 and a.loc["0-1 years", "coverage_90"] == 1.0
    assert math.isclose(a.loc["1-2 years", "p_coverage_90_this_low"], 0.1)
    assert math.isclose(a.loc["0-1 years", "p_coverage_50_this_low"], 0.25)  # 0 of 2 inside
    assert math.isclose(
        a.loc["2-3 years", "longest_years"],
        (pd.Timestamp("2013-05-28") - pd.Timestamp("2010-06-30")).days / 365.25,
    )
    assert (b["refits_unconverged"] == 1).all() and (a["refits_unconverged"] == 0).all()
    assert math.isnan(b.loc["2-3 years", "coverage_90"])
    assert math.isclose(a.loc["0-1 years", "mean_pit"], 0.9)
    assert a.loc["1-2 years", "share_above_median"] == 1.0
