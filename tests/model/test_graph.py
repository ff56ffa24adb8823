"""Model structure: named variables, finite log-density and gradient, prior predictive."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayes_koryo.data import load_observations
from bayes_koryo.model.config import default_config
from bayes_koryo.model.graph import (
    build_model,
    free_parameters,
    interval_logp,
    time_grid,
    years_since,
)
from bayes_koryo.model.growth import log_adopted_fraction

DERIVED = (
    "unique_users",
    "subscriptions",
    "sims_per_user",
    "real_user_share",
    "penetration_10plus",
    "penetration_addressable",
    "user_ceiling",
    "subscription_ceiling",
    "sims_per_heavy_user",
    "decomposition_unique_users",
    "decomposition_extra_sims",
    "decomposition_official_lines",
    "decomposition_inactive_numbers",
)


@pytest.fixture(scope="module")
def baseline_model():
    return build_model(load_observations(), default_config())


def test_named_variables_and_likelihood_per_kind(baseline_model):
    names = set(baseline_model.named_vars)
    assert set(free_parameters(default_config())) <= names
    assert set(DERIVED) <= names
    observed = {rv.name for rv in baseline_model.observed_RVs}
    assert observed == {
        "reported_audited_quarterly",
        "reported_rounded_report",
        "reported_retrospective_statement",
        "reported_milestone",
        "reported_rounded_statement",
        "reported_activity_statement",
    }
    assert not baseline_model.potentials  # every likelihood term is an observed variable


def test_every_report_date_is_a_grid_point(baseline_model):
    grid = baseline_model.coords["date"]
    for date in load_observations()["date"]:
        assert date in grid


def test_finite_logp_and_gradient_at_initial_point(baseline_model):
    point = baseline_model.initial_point()
    assert np.isfinite(baseline_model.compile_logp()(point))
    assert np.all(np.isfinite(baseline_model.compile_dlogp()(point)))


def test_grid_runs_monthly_from_launch_to_horizon():
    grid = time_grid(default_config())
    assert grid[0].strftime("%Y-%m-%d") == "2009-01-15"
    assert grid[-1].strftime("%Y-%m-%d") == "2016-12-15"


@pytest.mark.parametrize("mu", [-50.0, np.log(1.02), np.log(1.0), 50.0])
def test_interval_likelihood_is_finite_and_correct(mu):
    from scipy.stats import norm

    lo, hi, sd = np.float64(0.0), np.log(1.05), np.float64(0.01)
    value = float(interval_logp(np.float64(0.0), np.float64(mu), lo, hi, sd).eval())
    assert np.isfinite(value)
    exact = np.log(norm.cdf((hi - mu) / sd) - norm.cdf((lo - mu) / sd)) if abs(mu) < 1 else None
    if exact is not None:
        # pytensor's erfc/erfcx agree with scipy to ~1e-7 relative
        assert value == pytest.approx(exact, rel=1e-6)


def test_bass_curve_matches_closed_form():
    tau = np.array([0.1, 1.0, 5.0])
    p, q = 0.03, 0.4
    expected = (1 - np.exp(-(p + q) * tau)) / (1 + q / p * np.exp(-(p + q) * tau))
    got = np.exp(log_adopted_fraction("bass", tau, {"innovation_rate": p, "imitation_rate": q}))
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_prior_predictive_meets_the_brief(baseline_model):
    """Brief: P(U(May 2013) / population 10+ < 25%) > 0.95 under the prior, and the implied
    subscription path covers the reported points without being absurd."""
    import pymc as pm

    from bayes_koryo.inference.checks import (
        PENETRATION_PRIOR_PROB,
        penetration_prior_probability,
        prior_predictive_table,
    )

    with baseline_model:
        prior = pm.sample_prior_predictive(draws=2000, random_seed=1)["prior"].to_dataset()
    assert penetration_prior_probability(prior) > PENETRATION_PRIOR_PROB
    table = prior_predictive_table(prior, load_observations())
    subs = table[table["quantity"] == "subscriptions"]
    assert subs["inside"].all(), subs[~subs["inside"]]
    may = subs[subs["date"] == "2013-05-28"].iloc[0]
    # not absurd: fewer SIMs than people in the country, more than the launch-year count
    assert 0.05 < may["ci_low"] and may["ci_high"] < 24.05


def test_likelihood_path_equals_grid_path_at_report_dates(fitted):
    """The likelihood evaluates S(t) only at the report dates (one clock term per period); the
    derived quantities use the monthly grid. Both must agree exactly at every report date."""
    post = fitted.idata["posterior"]
    at_reports = post["subscriptions_at_reports"]
    on_grid = post["subscriptions"].sel(date=at_reports["observed_period"].values)
    np.testing.assert_allclose(at_reports.values, on_grid.values, rtol=1e-9)


# ------------------------------------------------------------- sampler coordinates


@pytest.fixture(scope="module")
def original_model():
    return build_model(
        load_observations(), default_config().replace(sampler={"coordinates": "original"})
    )


def _prior_points(model, names, n, seed):
    """``n`` joint prior draws of ``names`` (dicts of arrays)."""
    import pymc as pm

    draws = pm.draw([model[name] for name in names], draws=n, random_seed=seed)
    return [{name: d[i] for name, d in zip(names, draws, strict=True)} for i in range(n)]


def test_pinned_coordinates_are_a_change_of_variables_of_the_same_joint_density(
    baseline_model, original_model
):
    """log p_pinned(kappa, lambda, nu, rest) = log p_original(c, p, rho, rest) + log c + log p
    + log rho, data included, at prior draws: kappa = log c + log(A r'), lambda = kappa +
    log p, nu = lambda + log rho, so the densities differ exactly by the log-Jacobian
    log|d(c, p, rho)/d(kappa, lambda, nu)|."""
    pinned = {rv.name for rv in baseline_model.free_RVs}
    original = {rv.name for rv in original_model.free_RVs}
    assert pinned - original == {
        "log_subscription_ceiling",
        "log_initial_subscription_rate",
        "log_restricted_subscription_rate",
    }
    assert original - pinned == {"ceiling_share", "innovation_rate", "restricted_pace"}
    from pymc.model.transform.conditioning import remove_value_transforms

    names = sorted(pinned | original)
    # densities of the constrained values themselves (no value transforms, no Jacobians)
    plain_pinned = remove_value_transforms(baseline_model)
    plain_original = remove_value_transforms(original_model)
    logp_pinned, logp_original = plain_pinned.compile_logp(), plain_original.compile_logp()
    for point in _prior_points(baseline_model, names, 25, seed=3):
        c, p, rho = (point[n] for n in ("ceiling_share", "innovation_rate", "restricted_pace"))
        pinned_point = {plain_pinned.rvs_to_values[plain_pinned[n]].name: point[n] for n in pinned}
        original_point = {
            plain_original.rvs_to_values[plain_original[n]].name: point[n] for n in original
        }
        assert np.isfinite(logp_original(original_point))
        np.testing.assert_allclose(
            logp_pinned(pinned_point),
            logp_original(original_point) + np.log(c * p * rho),
            rtol=1e-10,
        )


def test_pinned_coordinates_keep_the_priors_of_the_quantities(baseline_model):
    """Forward draws through the pinned coordinates give each quantity its configured prior
    (Kolmogorov-Smirnov against the prior's CDF, 4000 draws)."""
    import pymc as pm
    from scipy import stats

    from bayes_koryo.model.priors import prior_distribution

    config = default_config()
    names = ["ceiling_share", "innovation_rate", "restricted_pace"]
    draws = pm.draw([baseline_model[n] for n in names], draws=4000, random_seed=7)
    for name, values in zip(names, draws, strict=True):
        frozen = prior_distribution(config.priors[name])
        ks = stats.kstest(values, lambda x, f=frozen: np.exp(pm.logcdf(f, x).eval()))
        assert ks.pvalue > 1e-3, (name, ks)


def test_a_normal_prior_keeps_its_own_coordinate():
    from bayes_koryo.model.graph import sampler_coordinates

    config = default_config().replace(
        priors={"ceiling_share": {"dist": "Normal", "mu": 0.2, "sigma": 0.03}}
    )
    assert sampler_coordinates(config) == {
        "log_initial_subscription_rate": "innovation_rate",
        "log_restricted_subscription_rate": "restricted_pace",
    }
    model = build_model(load_observations(), config)
    assert {"ceiling_share", "log_initial_subscription_rate"} <= {rv.name for rv in model.free_RVs}
    logistic = default_config().replace(growth={"form": "logistic"})
    assert sampler_coordinates(logistic) == {"log_subscription_ceiling": "ceiling_share"}


def test_shared_phones_let_users_exceed_sims_and_keep_the_identities():
    """Shared phones: users = holders x h with h = 1 + extra_users_per_holder, so U can exceed
    S; S/U, the ceilings and the four-part split of S stay consistent; without the option the
    model has no such variable (every user holds a SIM, U <= S)."""
    import pymc as pm

    config = default_config().replace(structure={"shared_phones": True})
    assert "extra_users_per_holder" in free_parameters(config)
    assert "extra_users_per_holder" not in free_parameters(default_config())
    model = build_model(load_observations(), config)
    names = [
        "users_per_holder",
        "unique_users",
        "subscriptions",
        "sims_per_user",
        "user_ceiling",
        "subscription_ceiling",
        "decomposition_unique_users",
        "decomposition_extra_sims",
        "decomposition_official_lines",
        "decomposition_inactive_numbers",
        "sims_per_private_user",
        "inactive_share",
        "official_share",
    ]
    d = dict(zip(names, pm.draw([model[n] for n in names], draws=2000, random_seed=3), strict=True))
    may = list(model.coords["date"]).index(np.datetime64("2013-05-28"))
    users, subs = d["unique_users"][:, may], d["subscriptions"][:, may]
    h = d["users_per_holder"]
    assert np.all(h > 1.0)
    assert 0.05 < np.mean(users > subs) < 0.95  # sharing can put U above S; not always
    np.testing.assert_allclose(d["sims_per_user"], subs / users, rtol=1e-10)
    np.testing.assert_allclose(d["subscription_ceiling"], d["user_ceiling"] * d["sims_per_user"])
    holders = users / h
    np.testing.assert_allclose(
        holders * d["sims_per_private_user"],
        subs * (1 - d["inactive_share"]) * (1 - d["official_share"]),
        rtol=1e-10,
    )
    parts = sum(
        d[f"decomposition_{k}"]
        for k in ("unique_users", "extra_sims", "official_lines", "inactive_numbers")
    )
    np.testing.assert_allclose(parts, subs, rtol=1e-10)
    np.testing.assert_allclose(d["decomposition_unique_users"], holders, rtol=1e-10)


def test_without_shared_phones_users_never_exceed_sims(baseline_model):
    import pymc as pm

    users, subs = pm.draw(
        [baseline_model["unique_users"], baseline_model["subscriptions"]], draws=500, random_seed=4
    )
    assert "users_per_holder" not in baseline_model.named_vars
    assert np.all(users <= subs)


def test_the_subscription_ceiling_prior_has_its_stated_quantiles():
    """The experts' figures count subscriptions: a ceiling near 5M, stagnation near 3M. The
    prior's median is 5M and both figures lie inside its central 90% (2.8-8.9M)."""
    from scipy import stats

    from bayes_koryo.model.priors import DEFAULT_PRIORS, prior_interval

    prior = DEFAULT_PRIORS["subscription_ceiling"]
    low, high = prior_interval(prior, 0.9)
    assert (round(low, 1), round(high, 1)) == (2.8, 8.9)
    median = np.exp(prior.params["mu"])
    assert abs(median - 5.0) < 0.01
    below_3m = stats.norm.cdf((np.log(3.0) - prior.params["mu"]) / prior.params["sigma"])
    assert 0.05 < below_3m < 0.10


def test_with_the_prior_on_the_subscription_ceiling_the_user_ceiling_is_derived():
    """ceiling_prior = "subscriptions": K is a prior quantity with its configured prior
    (Kolmogorov-Smirnov), ceiling_share and the user ceiling are derived from it (M = K / r'),
    and the users' prior quantity ceiling_share is no longer free."""
    import pymc as pm
    from scipy import stats

    from bayes_koryo.model.priors import prior_distribution

    config = default_config().replace(structure={"ceiling_prior": "subscriptions"})
    names = free_parameters(config)
    assert "subscription_ceiling" in names and "ceiling_share" not in names
    assert "subscription_ceiling" not in free_parameters(default_config())
    model = build_model(load_observations(), config)
    assert "subscription_ceiling" in {rv.name for rv in model.free_RVs}
    assert "ceiling_share" in model.named_vars and "ceiling_share" not in model.free_RVs
    wanted = ["subscription_ceiling", "ceiling_share", "user_ceiling", "sims_per_user"]
    wanted += ["addressable_population", "unique_users", "subscriptions"]
    d = dict(
        zip(wanted, pm.draw([model[n] for n in wanted], draws=4000, random_seed=5), strict=True)
    )
    frozen = prior_distribution(config.priors["subscription_ceiling"])
    ks = stats.kstest(d["subscription_ceiling"], lambda x: np.exp(pm.logcdf(frozen, x).eval()))
    assert ks.pvalue > 1e-3, ks
    np.testing.assert_allclose(
        d["user_ceiling"], d["subscription_ceiling"] / d["sims_per_user"], rtol=1e-10
    )
    np.testing.assert_allclose(
        d["ceiling_share"], d["user_ceiling"] / d["addressable_population"], rtol=1e-10
    )
    assert np.all(d["unique_users"] <= d["subscriptions"])
    assert np.all(d["subscriptions"] <= d["subscription_ceiling"][:, None] * (1 + 1e-12))


@pytest.mark.parametrize("centring", [0.5, 0.0])
def test_partial_centring_of_the_pace_deviations_is_a_change_of_variables(baseline_model, centring):
    """sampler.pace_centring = c < 1: the sampler moves w = deviation / sd^(1-c) ~ N(0, sd^c)
    for the observed periods. The joint log density, data included, at prior draws differs from
    the centred model's exactly by the log-Jacobian (1 - c) sum(log sd_j), and the deviation
    keeps its name and its Normal(0, sd_j) prior (the log_prior term)."""
    from pymc.model.transform.conditioning import remove_value_transforms

    from bayes_koryo.model.graph import prior_log_densities

    config = default_config().replace(sampler={"pace_centring": centring})
    model = build_model(load_observations(), config)
    centred = {rv.name for rv in baseline_model.free_RVs}
    moved = {rv.name for rv in model.free_RVs}
    assert centred - moved == {"pace_deviation_observed"}
    assert moved - centred == {"pace_deviation_observed_scaled"}
    assert "pace_deviation_observed" in model.named_vars
    plain_centred, plain_moved = (remove_value_transforms(m) for m in (baseline_model, model))
    logp_centred, logp_moved = plain_centred.compile_logp(), plain_moved.compile_logp()
    factor = model["pace_sd_factor"].eval()
    import pytensor

    term = prior_log_densities(plain_moved, config)["pace_deviation_observed"].sum()
    inputs = [
        plain_moved.rvs_to_values[plain_moved[n]]
        for n in ("pace_deviation_observed_scaled", "deviation_scale")
    ]
    log_prior = pytensor.function(
        inputs, plain_moved.replace_rvs_by_values([term])[0], on_unused_input="ignore"
    )
    for point in _prior_points(baseline_model, sorted(centred | {"deviation_scale"}), 10, 4):
        deviation = point["pace_deviation_observed"]
        sd = point["deviation_scale"] * factor[: deviation.size]
        values = {plain_centred.rvs_to_values[plain_centred[n]].name: point[n] for n in centred}
        moved_values = {k: v for k, v in values.items() if k != "pace_deviation_observed"}
        moved_values["pace_deviation_observed_scaled"] = deviation / sd ** (1 - centring)
        np.testing.assert_allclose(
            logp_moved(moved_values),
            logp_centred(values) + (1 - centring) * np.sum(np.log(sd)),
            rtol=1e-10,
        )
        own = np.sum(-0.5 * (deviation / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi))
        scaled = moved_values["pace_deviation_observed_scaled"]
        np.testing.assert_allclose(log_prior(scaled, point["deviation_scale"]), own, rtol=1e-10)


def test_access_cohorts_with_equal_shares_are_the_constant_composition():
    """The constant composition is the special case of the access cohorts: at the same values
    of every free variable, with the early shares set to the later ones, users, the user
    ceiling and S/U equal the baseline's."""
    import pymc as pm

    observations = load_observations()
    cohorts = build_model(
        observations, default_config().replace(structure={"composition": "access_cohorts"})
    )
    constant = build_model(observations, default_config())
    prior = pm.sample_prior_predictive(draws=40, model=cohorts, random_seed=1)["prior"]
    point = prior.to_dataset()[[rv.name for rv in cohorts.free_RVs]]
    point["early_heavy_user_share"] = point["heavy_user_share"]
    point["early_official_share"] = point["official_share"]
    names = ["unique_users", "user_ceiling", "sims_per_user", "decomposition_extra_sims"]
    a = pm.compute_deterministics(point, model=cohorts, var_names=names, progressbar=False)
    free = [rv.name for rv in constant.free_RVs]
    b = pm.compute_deterministics(point[free], model=constant, var_names=names, progressbar=False)
    for name in names:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-12)


def test_access_cohorts_count_each_cohorts_users_with_its_own_composition():
    """composition = "access_cohorts": SIMs registered by the opening T_o hold the early
    composition r'_e, the rest the later r'_l. Before T_o, U/S = 1/r'_e; after it,
    U = S(T_o)/r'_e + (S - S(T_o))/r'_l; the four-part split still adds up to S, U <= S, the
    user ceiling counts the early cohort at r'_e, and the two early shares are free only in
    the variant."""
    import pymc as pm

    config = default_config().replace(structure={"composition": "access_cohorts"})
    early = ("early_heavy_user_share", "early_official_share")
    assert set(early) <= set(free_parameters(config))
    assert not set(early) & set(free_parameters(default_config()))
    model = build_model(load_observations(), config)
    names = [
        "unique_users",
        "subscriptions",
        "real_user_share_by_date",
        "access_open_time",
        "sims_per_heavy_user",
        "inactive_share",
        "heavy_user_share",
        "official_share",
        *early,
        "user_ceiling",
        "subscription_ceiling",
        "sims_per_user",
        "decomposition_unique_users",
        "decomposition_extra_sims",
        "decomposition_official_lines",
        "decomposition_inactive_numbers",
    ]
    d = dict(zip(names, pm.draw([model[n] for n in names], draws=500, random_seed=6), strict=True))
    years = years_since(config.launch, pd.DatetimeIndex(model.coords["date"]))
    m, iota = d["sims_per_heavy_user"][:, None], d["inactive_share"][:, None]

    def sims_per_user(heavy, official):
        return (1 + heavy[:, None] * (m - 1)) / ((1 - iota) * (1 - official[:, None]))

    r_early = sims_per_user(d["early_heavy_user_share"], d["early_official_share"])
    r_later = sims_per_user(d["heavy_user_share"], d["official_share"])
    users, subs = d["unique_users"], d["subscriptions"]
    before = years[None, :] <= d["access_open_time"][:, None]
    np.testing.assert_allclose(
        np.where(before, users * r_early, subs), subs, rtol=1e-10
    )  # before the opening every SIM is the early cohort's
    at_opening = np.array(
        [
            np.interp(t, np.r_[0.0, years], np.r_[0.0, s])
            for t, s in zip(d["access_open_time"], subs, strict=True)
        ]
    )[:, None]
    early_sims = np.where(before, subs, np.minimum(subs, at_opening))
    np.testing.assert_allclose(
        users, early_sims / r_early + (subs - early_sims) / r_later, rtol=1e-10
    )
    np.testing.assert_allclose(d["real_user_share_by_date"], users / subs, rtol=1e-10)
    np.testing.assert_allclose(
        d["user_ceiling"],
        at_opening[:, 0] / r_early[:, 0]
        + (d["subscription_ceiling"] - at_opening[:, 0]) / r_later[:, 0],
        rtol=1e-10,
    )
    may = list(model.coords["date"]).index(np.datetime64("2013-05-28"))
    np.testing.assert_allclose(d["sims_per_user"], subs[:, may] / users[:, may], rtol=1e-10)
    parts = sum(
        d[f"decomposition_{k}"]
        for k in ("unique_users", "extra_sims", "official_lines", "inactive_numbers")
    )
    np.testing.assert_allclose(parts, subs[:, may], rtol=1e-10)
    assert np.all(users <= subs)
    # the early cohort holds more SIMs per user in most draws, so U/S rises over time
    share = d["real_user_share_by_date"]
    assert np.mean(share[:, may] > share[:, 0]) > 0.8


def test_the_early_composition_priors_have_their_stated_quantiles():
    """The access-cohorts priors as their notes state them: early heavy-user share Beta(4, 5)
    (90%: 0.19-0.71), early official share Beta(4, 6) (90%: 0.17-0.66); each is centred above
    its later counterpart, and P(early below later) is about 0.18 and 0.04."""
    from scipy import stats

    from bayes_koryo.model.priors import DEFAULT_PRIORS, prior_interval

    stated = {"early_heavy_user_share": (0.19, 0.71), "early_official_share": (0.17, 0.66)}
    for name, (low, high) in stated.items():
        lo, hi = prior_interval(DEFAULT_PRIORS[name], 0.9)
        assert (round(lo, 2), round(hi, 2)) == (low, high), name
    rng = np.random.default_rng(0)

    def below(early, later):
        def draw(name):
            p = DEFAULT_PRIORS[name].params
            return stats.beta(p["alpha"], p["beta"]).rvs(200_000, random_state=rng)

        return np.mean(draw(early) < draw(later))

    assert abs(below("early_heavy_user_share", "heavy_user_share") - 0.18) < 0.01
    assert abs(below("early_official_share", "official_share") - 0.04) < 0.01
