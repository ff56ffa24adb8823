"""The hierarchical model: ``build_model(observations, config) -> pm.Model``.

Generative story (MODEL.md has the maths and the sources):

1. Demography -> addressable population A = total - children under 10 - soldiers;
   user ceiling M = ceiling_share * A (millions of people).
2. Unique users U(t) = M * F(tau(t)): a diffusion curve F (Bass by default) on a stochastic
   clock tau(t) = integral of pace(s) ds, the Generalized Bass Model (Bass, Krishnan & Jain
   1994). pace = access regime (restricted until the opening, then 1) * exp(deviation), one
   deviation per period between consecutive report dates (yearly after the last report),
   all sharing one scale (partial pooling over time).
3. SIMs per unique user r = 1 + pi (m - 1); official share omega; inactive share iota.
4. Registered SIMs S(t) = U(t) r / ((1 - iota)(1 - omega)); active numbers S (1 - iota).
5. One observed variable per kind of figure: audited counts are log-normal around S(t);
   rounded figures, statements and milestones are interval-censored (the rounding cell in the
   data's lower/upper columns, edges softened by the kind's log-sd); the activity statement is
   the active share (1 - iota) falling in its rounding cell.

The time grid is monthly after launch up to the horizon, plus every observation date, so each
report date is a grid point. All counts are in millions; time in years since launch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from pymc.distributions.dist_math import normal_lcdf

from bayes_koryo.config import ModelConfig
from bayes_koryo.data import check_observation_frame, source_row
from bayes_koryo.errors import DataValidationError, ObservationWindowError
from bayes_koryo.growth import GROWTH_PARAMETERS, effective_clock, log_adopted_fraction
from bayes_koryo.numerics import use_reproducible_numerics
from bayes_koryo.priors import (
    DISTRIBUTIONS,
    HYPERPARAMETER_DATA,
    hyperparameter_layout,
    hyperparameter_name,
    hyperparameter_values,
    make_random_variable,
)

use_reproducible_numerics()  # before anything is compiled: see bayes_koryo.numerics

DAYS_PER_YEAR = 365.25
MILLION = 1e6

FREE_PARAMETERS_COMMON = (
    "population_total", "children_under_10", "soldiers", "ceiling_share",
    "coverage_at_launch", "coverage_end_2009", "restricted_pace", "access_open_time",
    "deviation_scale",
    "heavy_user_share", "sims_beyond_two", "official_share", "inactive_share",
)
"""Free scalar random variables shared by every growth form (plus the curve's own)."""

DECOMPOSITION_DATE = "2013-05-28"
"""Date of the 2-million milestone whose subscriptions the model decomposes."""


def free_parameters(config: ModelConfig) -> tuple[str, ...]:
    """Names of the free scalar parameters of a model built with ``config``."""
    extra = ("activity_depression",) if config.activity_depressed else ()
    return FREE_PARAMETERS_COMMON + GROWTH_PARAMETERS[config.growth_form] + extra


FORECAST_PERIOD_MONTHS = 12
"""Length of a pace-deviation period after the last observation (one deviation a year)."""


@dataclass(frozen=True)
class PacePeriods:
    """Periods with one pace deviation each, and the period of every grid interval.

    Up to the last observation a period runs from one report date to the next, so each
    deviation is pinned by the growth between two reported figures; after it, periods are
    ``FORECAST_PERIOD_MONTHS`` long.
    """

    ends: pd.DatetimeIndex        # last date of each period
    observed: int                 # the first `observed` periods end at a report date
    of_grid: np.ndarray           # period index of each grid interval (launch, t0], (t0, t1]...


def pace_periods(grid: pd.DatetimeIndex, report_dates) -> PacePeriods:
    """Split launch..horizon into pace-deviation periods (see PacePeriods)."""
    report_dates = pd.DatetimeIndex(sorted(set(report_dates)))
    forecast = pd.date_range(report_dates[-1], grid[-1],
                             freq=pd.DateOffset(months=FORECAST_PERIOD_MONTHS))[1:]
    ends = report_dates.append(forecast)
    if ends[-1] < grid[-1]:
        ends = ends.append(pd.DatetimeIndex([grid[-1]]))
    return PacePeriods(ends, len(report_dates), np.searchsorted(ends.values, grid.values))


@dataclass(frozen=True)
class CoverageKnots:
    """Knots of the coverage path: two prior-driven ones, then the reported figures."""

    years: np.ndarray             # years since launch, all knots
    reported_values: np.ndarray   # reported coverage fractions (knots 3..n)


COVERAGE_PRIOR_KNOTS = ("2008-12-15", "2009-12-31")
"""Dates of the coverage knots without a reported figure (launch; end-2009)."""


def coverage_knots(config: ModelConfig) -> CoverageKnots:
    """Coverage knots from the bundled network file (population coverage, 2010-2011)."""
    from bayes_koryo.data import load_network

    network = load_network()
    reported = network.dropna(subset=["population_coverage"])
    dates = pd.DatetimeIndex(list(COVERAGE_PRIOR_KNOTS) + list(reported["date"]))
    return CoverageKnots(years_since(config.launch, dates),
                         reported["population_coverage"].to_numpy(float))


def coverage_hash() -> str:
    """SHA-256 (hex) of the reported coverage figures the model reads from the bundled
    network file (dates and values): part of every run id, checked when a run is loaded."""
    import hashlib

    from bayes_koryo.data import load_network

    reported = load_network().dropna(subset=["population_coverage"])
    text = "\n".join(f"{d:%Y-%m-%d},{v!r}" for d, v in
                     zip(reported["date"], reported["population_coverage"].astype(float),
                         strict=True))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def interpolation_matrix(times: np.ndarray, knot_times: np.ndarray) -> np.ndarray:
    """Weights W with (W @ knot_values)[i] = linear interpolation at times[i]; flat outside."""
    eye = np.eye(len(knot_times))
    return np.stack([np.interp(times, knot_times, eye[j]) for j in range(len(knot_times))],
                    axis=1)


def years_since(launch: dt.date, dates) -> np.ndarray:
    """Years (of 365.25 days) from ``launch`` to each of ``dates``."""
    delta = pd.DatetimeIndex(dates) - pd.Timestamp(launch)
    return np.asarray(delta.days, dtype=float) / DAYS_PER_YEAR


def time_grid(config: ModelConfig, extra_dates=()) -> pd.DatetimeIndex:
    """Monthly dates after launch up to the horizon, merged with ``extra_dates`` (sorted)."""
    launch = pd.Timestamp(config.launch)
    monthly = pd.date_range(launch, pd.Timestamp(config.horizon), freq=pd.DateOffset(months=1))
    grid = monthly.union(pd.DatetimeIndex(extra_dates)).unique().sort_values()
    # launch itself is left out: U(launch) = 0 and its log would poison the gradients
    return grid[(grid > launch) & (grid <= pd.Timestamp(config.horizon))]


@dataclass(frozen=True)
class ObservationBlock:
    """The rows of one kind of figure, as the model sees them (log scale, millions)."""

    kind: str
    dates: pd.DatetimeIndex
    grid_index: np.ndarray
    log_value: np.ndarray
    log_lower: np.ndarray | None   # None: point likelihood
    log_upper: np.ndarray | None

    @property
    def is_interval(self) -> bool:
        return self.log_lower is not None


def observation_blocks(observations: pd.DataFrame, config: ModelConfig,
                       grid: pd.DatetimeIndex) -> list[ObservationBlock]:
    """Split the observations used by ``config`` into one block per kind."""
    source = observations.attrs.get("source_file", "<observations>")
    launch, horizon = pd.Timestamp(config.launch), pd.Timestamp(config.horizon)
    position = {label: k for k, label in enumerate(observations.index)}
    blocks = []
    for kind in config.kinds:
        rows = observations[observations["kind"] == kind]
        if rows.empty:
            continue
        for i, row in rows.iterrows():
            # the grid starts after launch: a figure dated at launch would have no grid point
            if not launch < row["date"] <= horizon:
                where = "before" if row["date"] <= launch else "after"
                raise ObservationWindowError(
                    source, f"date {row['date'].date()} is {where} the model's window "
                    f"({config.launch}, {config.horizon}]: drop the row or change "
                    f"time.{'launch' if where == 'before' else 'horizon'} in config "
                    f"{config.name!r}", row=source_row(observations, position[i]),
                    column="date")
        values = rows["value"].to_numpy(float)
        lower, upper = rows["lower"].to_numpy(float), rows["upper"].to_numpy(float)
        if kind == "activity_statement":
            subs = observations[observations["quantity"] == "subscribers"]
            denominators = []
            for i, row in rows.iterrows():
                same = subs[subs["date"] == row["date"]]
                if same.empty:
                    raise DataValidationError(source, "no subscriber figure on this date to form "
                                              "the active share",
                                              row=source_row(observations, position[i]),
                                              column="date")
                denominators.append(same["value"].max())
            scale = np.asarray(denominators, dtype=float)
        else:
            scale = np.full(len(rows), MILLION)
        has_bounds = ~(np.isnan(lower) | np.isnan(upper))
        for mask, interval in ((~has_bounds, False), (has_bounds, True)):
            if not mask.any():
                continue
            dates = pd.DatetimeIndex(rows["date"].to_numpy()[mask])
            blocks.append(ObservationBlock(
                kind=kind if mask.all() else f"{kind}_{'interval' if interval else 'point'}",
                dates=dates,
                grid_index=grid.get_indexer(dates),
                log_value=np.log(values[mask] / scale[mask]),
                log_lower=np.log(lower[mask] / scale[mask]) if interval else None,
                log_upper=np.log(upper[mask] / scale[mask]) if interval else None,
            ))
    return blocks


OBSERVATION_TABLE = "observation_table"
"""Name of the pm.Data matrix holding every observation the likelihood uses (one row each)."""
OBSERVATION_TABLE_COLUMNS = ("log_value", "log_lower", "log_upper", "log_sd")
"""Columns of the observation table: log(value / scale), the log rounding cell (the value
itself for point figures), and the kind's log-scale sd."""


def table_rows(blocks: list[ObservationBlock]) -> list[slice]:
    """The rows of the observation table that hold each block."""
    ends = np.cumsum([len(b.dates) for b in blocks])
    return [slice(int(end - len(b.dates)), int(end)) for b, end in zip(blocks, ends, strict=True)]


def observation_table(blocks: list[ObservationBlock], config: ModelConfig) -> np.ndarray:
    """The (rows x OBSERVATION_TABLE_COLUMNS) float64 matrix of ``blocks``, in block order.

    One shared variable for all observations instead of four per kind keeps nutpie's compile
    time low (see ``bayes_koryo.priors``)."""
    parts = []
    for block in blocks:
        base_kind = block.kind.removesuffix("_point").removesuffix("_interval")
        lower = block.log_lower if block.is_interval else block.log_value
        upper = block.log_upper if block.is_interval else block.log_value
        sd = np.full(len(block.dates), config.log_sd[base_kind])
        parts.append(np.column_stack([block.log_value, lower, upper, sd]))
    return np.concatenate(parts).astype(np.float64)


def interval_logp(value, mu, log_lower, log_upper, sigma):
    """log P(log_lower < mu + sigma*eps < log_upper), eps ~ N(0, 1), computed stably.

    With ``mu`` above the cell both standardised edges are negative and the CDF form is
    accurate; below the cell the survival form is. Each branch only ever sees a ``mu`` on
    its own side (clipped at the midpoint), so neither produces inf/NaN values or
    gradients that the switch would otherwise leak.
    """
    mid = 0.5 * (log_lower + log_upper)
    mu_below = pt.minimum(mu, mid)
    mu_above = pt.maximum(mu, mid)
    survival_form = pm.math.logdiffexp(normal_lcdf(-mu_below, sigma, -log_lower),
                                       normal_lcdf(-mu_below, sigma, -log_upper))
    cdf_form = pm.math.logdiffexp(normal_lcdf(mu_above, sigma, log_upper),
                                  normal_lcdf(mu_above, sigma, log_lower))
    return pt.switch(pt.le(mu, mid), survival_form, cdf_form) + 0.0 * value


def interval_replicate(mu, log_lower, log_upper, sigma, size):
    """Replicate of the (log) count behind a rounded figure: mu + sigma * eps (symbolic)."""
    return pm.Normal.dist(mu + 0.0 * (log_lower + log_upper), sigma, size=size)


def build_model(observations: pd.DataFrame, config: ModelConfig) -> pm.Model:
    """Build the PyMC model for ``observations`` (from ``bayes_koryo.data``) and ``config``.

    Raises DataValidationError for a malformed table or an observation outside the config's
    window (launch, horizon] (an ObservationWindowError, also a ConfigError).
    """
    check_observation_frame(observations)
    use_reproducible_numerics()  # in case the process turned fastmath back on since import
    grid = time_grid(config, observations["date"])
    grid_years = years_since(config.launch, grid)
    blocks = observation_blocks(observations, config, grid)
    report_dates = pd.DatetimeIndex(sorted(set(observations["date"])))
    periods = pace_periods(grid, observations.loc[observations["kind"].isin(config.kinds),
                                                  "date"])
    coords = {
        "date": grid,
        "period": periods.ends,
        "observed_period": periods.ends[:periods.observed],
        "forecast_period": periods.ends[periods.observed:],
        **{f"{b.kind}_date": b.dates for b in blocks},
    }
    priors = config.priors
    layout = hyperparameter_layout(priors)
    coords["hyperparameter"] = [hyperparameter_name(v, k) for v, k in layout]
    position = {pair: i for i, pair in enumerate(layout)}
    table = observation_table(blocks, config)
    coords["observation_column"] = list(OBSERVATION_TABLE_COLUMNS)
    coords["observation_row"] = np.arange(len(table))
    report_years = years_since(config.launch, periods.ends[:periods.observed])
    knots = coverage_knots(config)

    with pm.Model(coords=coords) as model:
        hyper = pm.Data(HYPERPARAMETER_DATA, hyperparameter_values(priors), dims="hyperparameter")
        observed_table = pm.Data(OBSERVATION_TABLE, table,
                                 dims=("observation_row", "observation_column"))

        def rv(name, **kwargs):
            keys = DISTRIBUTIONS[priors[name].dist][1]
            return make_random_variable(
                name, priors[name], {key: hyper[position[(name, key)]] for key in keys}, **kwargs)

        t = pm.Data("grid_years", grid_years, dims="date")
        # 1. demography and ceiling (millions of people)
        population_total = rv("population_total")
        children = rv("children_under_10")
        soldiers = rv("soldiers")
        ceiling_share = rv("ceiling_share")
        population_10plus = population_total - children
        addressable = population_10plus - soldiers
        user_ceiling = ceiling_share * addressable

        # 2. generalized Bass within the covered population: U = M * c(t) * F(tau(t)).
        #    c(t): population coverage, interpolated through the reported figures (2010-2011)
        #    and two prior-driven knots (launch, end-2009). tau(t) = integral of the access-regime
        #    pace (restricted until the opening) times exp(deviation of the period).
        curve = {name: rv(name) for name in GROWTH_PARAMETERS[config.growth_form]}
        coverage_knot_values = pt.concatenate([
            pt.stack([rv("coverage_at_launch"), rv("coverage_end_2009")]),
            pt.as_tensor(knots.reported_values)])
        weights = pm.Data("coverage_weights",
                          interpolation_matrix(grid_years, knots.years))
        coverage = pt.dot(weights, coverage_knot_values)
        report_weights = pm.Data("coverage_weights_at_reports",
                                 interpolation_matrix(report_years, knots.years))
        coverage_at_reports = pt.dot(report_weights, coverage_knot_values)
        # pace deviations, one per period, deviation = deviation_scale * innovation with
        # standard-normal innovations (non-centred). Also where a pair of reports pins a
        # deviation: the centred form funnels when deviation_scale is small (MODEL.md, Validation)
        deviation_scale = rv("deviation_scale")
        observed_dev = pm.Deterministic(
            "pace_deviation_observed",
            deviation_scale * pm.Normal("pace_innovation_observed", 0.0, 1.0,
                                        dims="observed_period"),
            dims="observed_period")
        forecast_dev = deviation_scale * pm.Normal("pace_innovation_forecast", 0.0, 1.0,
                                                   dims="forecast_period")
        period_deviation = pt.concatenate([observed_dev, forecast_dev])
        pace_deviation = period_deviation[periods.of_grid]
        restricted_pace, access_open_time = rv("restricted_pace"), rv("access_open_time")
        base_clock = effective_clock(pt.concatenate([pt.zeros(1), t]), restricted_pace,
                                     access_open_time, xp=pt)
        tau = pt.cumsum((base_clock[1:] - base_clock[:-1]) * pt.exp(pace_deviation))
        log_users = pt.log(user_ceiling) + pt.log(coverage) + log_adopted_fraction(
            config.growth_form, tau, curve, xp=pt)
        # the same clock at the report dates only, for the likelihood: the deviation is
        # constant within a period, so the grid sum telescopes to one term per period (exactly
        # equal at every report date; the grid is only needed for the derived quantities,
        # computed after sampling)
        report_clock = effective_clock(pt.concatenate([pt.zeros(1), report_years]),
                                       restricted_pace, access_open_time, xp=pt)
        tau_at_reports = pt.cumsum((report_clock[1:] - report_clock[:-1]) * pt.exp(observed_dev))
        log_users_at_reports = (pt.log(user_ceiling) + pt.log(coverage_at_reports)
                                + log_adopted_fraction(config.growth_form, tau_at_reports,
                                                       curve, xp=pt))

        # 3.-4. SIMs per user, official lines, inactive numbers
        heavy_share = rv("heavy_user_share")
        sims_per_heavy_user = 2.0 + rv("sims_beyond_two")
        official_share = rv("official_share")
        inactive_share = rv("inactive_share")
        sims_per_private_user = 1.0 + heavy_share * (sims_per_heavy_user - 1.0)
        log_sims_per_user = (pt.log(sims_per_private_user) - pt.log1p(-inactive_share)
                             - pt.log1p(-official_share))
        log_subscriptions = log_users + log_sims_per_user
        log_subscriptions_at_reports = log_users_at_reports + log_sims_per_user

        # 5. one likelihood per kind of figure
        log_active_share = pt.log1p(-inactive_share)
        if config.activity_depressed:
            log_active_share = log_active_share + pt.log1p(-rv("activity_depression"))
        report_dates_used = periods.ends[:periods.observed]
        for block, rows in zip(blocks, table_rows(blocks), strict=True):
            if block.kind.startswith("activity_statement"):  # the share, one per statement
                mu = pt.broadcast_to(log_active_share, (len(block.dates),))
            else:
                mu = log_subscriptions_at_reports[report_dates_used.get_indexer(block.dates)]
            observed, lo, hi, sd = (observed_table[rows, j] for j in range(4))
            if block.is_interval:
                pm.CustomDist(f"reported_{block.kind}", mu, lo, hi, sd, logp=interval_logp,
                              dist=interval_replicate, observed=observed,
                              dims=f"{block.kind}_date")
            else:
                pm.Normal(f"reported_{block.kind}", mu, sd, observed=observed,
                          dims=f"{block.kind}_date")

        pm.Deterministic("period_pace_deviation", period_deviation, dims="period")
        # what the likelihood sees (equal to `subscriptions` at the report dates; tested)
        pm.Deterministic("subscriptions_at_reports", pt.exp(log_subscriptions_at_reports),
                         dims="observed_period")
        # named derived quantities (millions; shares as fractions)
        users = pm.Deterministic("unique_users", pt.exp(log_users), dims="date")
        subscriptions = pm.Deterministic("subscriptions", pt.exp(log_subscriptions), dims="date")
        pm.Deterministic("penetration_10plus", users / population_10plus, dims="date")
        pm.Deterministic("penetration_addressable", users / addressable, dims="date")
        pm.Deterministic("user_ceiling", user_ceiling)
        pm.Deterministic("addressable_population", addressable)
        pm.Deterministic("population_10plus", population_10plus)
        sims_per_user = pm.Deterministic("sims_per_user", pt.exp(log_sims_per_user))
        pm.Deterministic("real_user_share", 1.0 / sims_per_user)
        pm.Deterministic("sims_per_private_user", sims_per_private_user)
        pm.Deterministic("sims_per_heavy_user", sims_per_heavy_user)
        pm.Deterministic("subscription_ceiling", user_ceiling * sims_per_user)
        pm.Deterministic("pace_deviation", pace_deviation, dims="date")
        pm.Deterministic("effective_clock", tau, dims="date")
        pm.Deterministic("population_coverage", coverage, dims="date")
        # decomposition of registered SIMs at the 2M milestone
        k = int(grid.get_indexer([pd.Timestamp(DECOMPOSITION_DATE)])[0])
        if k >= 0:
            s_k, u_k = subscriptions[k], users[k]
            pm.Deterministic("decomposition_unique_users", u_k)
            pm.Deterministic("decomposition_extra_sims", u_k * (sims_per_private_user - 1.0))
            pm.Deterministic("decomposition_official_lines",
                             s_k * (1.0 - inactive_share) * official_share)
            pm.Deterministic("decomposition_inactive_numbers", s_k * inactive_share)
    model.report_dates = report_dates  # type: ignore[attr-defined]
    return model
