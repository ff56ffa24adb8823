"""The hierarchical model: ``build_model(observations, config) -> pm.Model``.

Generative story (MODEL.md has the maths and the sources):

1. Demography -> addressable population A = total - children under 10 - soldiers;
   user ceiling M = ceiling_share * A (millions of people). Subscription-ceiling variant
   (``[structure] ceiling_prior = "subscriptions"``): the prior is on the subscription
   ceiling K = M r' (step 4) and M = K / r' is derived.
2. Unique users U(t) = M * F(tau(t)): a diffusion curve F (Bass by default) on a stochastic
   clock tau(t) = integral of pace(s) ds, the Generalized Bass Model (Bass, Krishnan & Jain
   1994). pace = access regime (restricted until the opening, then 1) * exp(deviation), one
   deviation per period between consecutive report dates (yearly after the last report),
   all sharing one scale (partial pooling over time), its sd scaled by sqrt(quarter / period
   length) so that the prior on the clock does not depend on when reports were published.
3. SIMs per unique user r = 1 + pi (m - 1); official share omega; inactive share iota.
4. Registered SIMs S(t) = U(t) r / ((1 - iota)(1 - omega)); active numbers S (1 - iota).
   Shared-phones variant (``[structure] shared_phones``): steps 2-4 describe private SIM
   holders; each holder's phone is used by h = 1 + extra_users_per_holder people, so the
   users are h times the holders (their ceiling too) and may exceed the SIMs.
   Access-cohorts variant (``[structure] composition = "access_cohorts"``): the SIMs registered
   before access opened (time ``access_open_time``) keep an early composition (pi_e, omega_e;
   same m and iota), those registered after have the later one, so U/S changes over time.
   Steps 1 and 4 are unchanged: the ceiling prior and the likelihood see the later
   composition and the active share, and the early shares keep their prior.
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
from typing import Any

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from pymc.distributions.dist_math import normal_lcdf

from bayes_koryo.data import check_observation_frame, source_row
from bayes_koryo.errors import DataValidationError, ObservationWindowError
from bayes_koryo.model.config import ModelConfig
from bayes_koryo.model.growth import GROWTH_PARAMETERS, effective_clock, log_adopted_fraction
from bayes_koryo.model.numerics import use_reproducible_numerics
from bayes_koryo.model.priors import (
    DISTRIBUTIONS,
    HYPERPARAMETER_DATA,
    SUPPORTS,
    hyperparameter_layout,
    hyperparameter_name,
    hyperparameter_values,
    make_random_variable,
    make_shifted_log_variable,
    prior_log_density,
)
from bayes_koryo.study import DECOMPOSITION_DATE, KORYOLINK_LAUNCH

use_reproducible_numerics()  # before anything is compiled: see bayes_koryo.model.numerics

DAYS_PER_YEAR = 365.25
MILLION = 1e6

FREE_PARAMETERS_COMMON = (
    "population_total",
    "children_under_10",
    "soldiers",
    "ceiling_share",
    "coverage_at_launch",
    "coverage_end_2009",
    "restricted_pace",
    "access_open_time",
    "deviation_scale",
    "heavy_user_share",
    "sims_beyond_two",
    "official_share",
    "inactive_share",
)
"""Free scalar random variables shared by every growth form (plus the curve's own)."""


def free_parameters(config: ModelConfig) -> tuple[str, ...]:
    """Names of the free scalar parameters of a model built with ``config``."""
    extra: tuple[str, ...] = ("activity_depression",) if config.activity_depressed else ()
    extra += ("extra_users_per_holder",) if config.shared_phones else ()
    if config.composition == "access_cohorts":
        extra += ("early_heavy_user_share", "early_official_share")
    common: tuple[str, ...] = FREE_PARAMETERS_COMMON
    if config.ceiling_prior == "subscriptions":  # the prior is on K; ceiling_share is derived
        common = tuple(
            "subscription_ceiling" if name == "ceiling_share" else name for name in common
        )
    return common + GROWTH_PARAMETERS[config.growth_form] + extra


FORECAST_PERIOD_MONTHS = 12
"""Length of a pace-deviation period after the last observation (one deviation a year)."""

PACE_REFERENCE_YEARS = 0.25
"""Period length (years) whose pace deviation has sd ``deviation_scale``: one quarter.

A period of length L has sd ``deviation_scale * sqrt(PACE_REFERENCE_YEARS / L)``, so the
period's contribution L * deviation to the log clock has variance proportional to L and the
prior on the clock path does not depend on where the report dates cut it (MODEL.md, "Pace").
"""


@dataclass(frozen=True)
class PacePeriods:
    """Periods with one pace deviation each, and the period of every grid interval.

    Up to the last observation a period runs from one report date to the next, so each
    deviation is pinned by the growth between two reported figures; after it, periods are
    ``FORECAST_PERIOD_MONTHS`` long.
    """

    ends: pd.DatetimeIndex  # last date of each period
    observed: int  # the first `observed` periods end at a report date
    of_grid: np.ndarray  # period index of each grid interval (launch, t0], (t0, t1]...

    def years(self, launch: dt.date) -> np.ndarray:
        """Length of each period in years (the first starts at ``launch``)."""
        return np.diff(years_since(launch, self.ends), prepend=0.0)

    def deviation_sd_factors(self, launch: dt.date) -> np.ndarray:
        """Return each period's pace-deviation sd in units of ``deviation_scale``.

        sqrt(PACE_REFERENCE_YEARS / length): the period's deviation is the mean log pace of
        short independent shocks, so a longer period averages more of them out.
        """
        return np.sqrt(PACE_REFERENCE_YEARS / self.years(launch))


def pace_periods(grid: pd.DatetimeIndex, report_dates) -> PacePeriods:
    """Split launch..horizon into pace-deviation periods (see PacePeriods)."""
    report_dates = pd.DatetimeIndex(sorted(set(report_dates)))
    forecast = pd.date_range(
        report_dates[-1], grid[-1], freq=pd.DateOffset(months=FORECAST_PERIOD_MONTHS)
    )[1:]
    ends = report_dates.append(forecast)
    if ends[-1] < grid[-1]:
        ends = ends.append(pd.DatetimeIndex([grid[-1]]))
    return PacePeriods(ends, len(report_dates), np.searchsorted(ends.values, grid.values))


@dataclass(frozen=True)
class CoverageKnots:
    """Knots of the coverage path: two prior-driven ones, then the reported figures."""

    years: np.ndarray  # years since launch, all knots
    reported_values: np.ndarray  # reported coverage fractions (knots 3..n)


COVERAGE_PRIOR_KNOTS = (KORYOLINK_LAUNCH.isoformat(), "2009-12-31")
"""Dates of the coverage knots without a reported figure (launch; end-2009)."""


def coverage_knots(config: ModelConfig, until=None) -> CoverageKnots:
    """Coverage knots from the bundled network file (population coverage, 2010-2011).

    Only figures dated on or before ``until`` (the last observation the model is fitted to)
    are used: a fit on the figures up to a cut-off (leave-future-out) sees no coverage figure
    published after it. With the bundled data (last figure May 2013) every figure is used.
    """
    from bayes_koryo.data import load_network

    network = load_network()
    reported = network.dropna(subset=["population_coverage"])
    if until is not None:
        reported = reported[reported["date"] <= pd.Timestamp(until)]
    dates = pd.DatetimeIndex(list(COVERAGE_PRIOR_KNOTS) + list(reported["date"]))
    return CoverageKnots(
        years_since(config.launch, dates), reported["population_coverage"].to_numpy(float)
    )


def interpolation_matrix(times: np.ndarray, knot_times: np.ndarray) -> np.ndarray:
    """Weights W with (W @ knot_values)[i] = linear interpolation at times[i]; flat outside."""
    eye = np.eye(len(knot_times))
    return np.stack([np.interp(times, knot_times, eye[j]) for j in range(len(knot_times))], axis=1)


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
    log_lower: np.ndarray | None  # None: point likelihood
    log_upper: np.ndarray | None

    @property
    def is_interval(self) -> bool:
        """True for interval-censored figures (rounding cells), False for point figures."""
        return self.log_lower is not None


def observation_blocks(
    observations: pd.DataFrame, config: ModelConfig, grid: pd.DatetimeIndex
) -> list[ObservationBlock]:
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
                    source,
                    f"date {row['date'].date()} is {where} the model's window "
                    f"({config.launch}, {config.horizon}]: drop the row or change "
                    f"time.{'launch' if where == 'before' else 'horizon'} in config "
                    f"{config.name!r}",
                    row=source_row(observations, position[i]),
                    column="date",
                )
        values = rows["value"].to_numpy(float)
        lower, upper = rows["lower"].to_numpy(float), rows["upper"].to_numpy(float)
        if kind == "activity_statement":
            subs = observations[observations["quantity"] == "subscribers"]
            denominators = []
            for i, row in rows.iterrows():
                same = subs[subs["date"] == row["date"]]
                if same.empty:
                    raise DataValidationError(
                        source,
                        "no subscriber figure on this date to form the active share",
                        row=source_row(observations, position[i]),
                        column="date",
                    )
                denominators.append(same["value"].max())
            scale = np.asarray(denominators, dtype=float)
        else:
            scale = np.full(len(rows), MILLION)
        has_bounds = ~(np.isnan(lower) | np.isnan(upper))
        for mask, interval in ((~has_bounds, False), (has_bounds, True)):
            if not mask.any():
                continue
            dates = pd.DatetimeIndex(rows["date"].to_numpy()[mask])
            blocks.append(
                ObservationBlock(
                    kind=kind if mask.all() else f"{kind}_{'interval' if interval else 'point'}",
                    dates=dates,
                    grid_index=grid.get_indexer(dates),
                    log_value=np.log(values[mask] / scale[mask]),
                    log_lower=np.log(lower[mask] / scale[mask]) if interval else None,
                    log_upper=np.log(upper[mask] / scale[mask]) if interval else None,
                )
            )
    return blocks


OBSERVATION_TABLE = "observation_table"
"""Name of the pm.Data matrix holding every observation the likelihood uses (one row each)."""
OBSERVATION_TABLE_COLUMNS = ("log_value", "log_lower", "log_upper", "log_sd")
"""Columns of the observation table: log(value / scale), the log rounding cell (the value
itself for point figures), and the kind's log-scale sd."""


def table_rows(blocks: list[ObservationBlock]) -> list[slice]:
    """Return the rows of the observation table that hold each block."""
    ends = np.cumsum([len(b.dates) for b in blocks])
    return [slice(int(end - len(b.dates)), int(end)) for b, end in zip(blocks, ends, strict=True)]


def observation_table(blocks: list[ObservationBlock], config: ModelConfig) -> np.ndarray:
    """Build the (rows x OBSERVATION_TABLE_COLUMNS) float64 matrix of ``blocks``, in block order.

    One shared variable for all observations instead of four per kind keeps nutpie's compile
    time low (see ``bayes_koryo.model.priors``).
    """
    parts = []
    for block in blocks:
        base_kind = block.kind.removesuffix("_point").removesuffix("_interval")
        lower, upper = block.log_lower, block.log_upper
        if lower is None or upper is None:  # a point figure: its cell is the value itself
            lower = upper = block.log_value
        sd = np.full(len(block.dates), config.log_sd[base_kind])
        parts.append(np.column_stack([block.log_value, lower, upper, sd]))
    return np.concatenate(parts).astype(np.float64)


def interval_logp(value, mu, log_lower, log_upper, sigma):
    """Log P(log_lower < mu + sigma*eps < log_upper), eps ~ N(0, 1), computed stably.

    With ``mu`` above the cell both standardised edges are negative and the CDF form is
    accurate; below the cell the survival form is. Each branch only ever sees a ``mu`` on
    its own side (clipped at the midpoint), so neither produces inf/NaN values or
    gradients that the switch would otherwise leak.
    """
    mid = 0.5 * (log_lower + log_upper)
    mu_below = pt.minimum(mu, mid)
    mu_above = pt.maximum(mu, mid)
    survival_form = pm.math.logdiffexp(
        normal_lcdf(-mu_below, sigma, -log_lower), normal_lcdf(-mu_below, sigma, -log_upper)
    )
    cdf_form = pm.math.logdiffexp(
        normal_lcdf(mu_above, sigma, log_upper), normal_lcdf(mu_above, sigma, log_lower)
    )
    return pt.switch(pt.le(mu, mid), survival_form, cdf_form) + 0.0 * value


def interval_replicate(mu, log_lower, log_upper, sigma, size):
    """Replicate of the (log) count behind a rounded figure: mu + sigma * eps (symbolic)."""
    return pm.Normal.dist(mu + 0.0 * (log_lower + log_upper), sigma, size=size)


PINNED_COORDINATES = {
    "log_subscription_ceiling": "ceiling_share",
    "log_initial_subscription_rate": "innovation_rate",
    "log_restricted_subscription_rate": "restricted_pace",
}
"""Sampler coordinate -> the prior quantity it stands in for (``sampler.coordinates = "pinned"``).

The reported figures pin log S(t) = log K + log c(t) + log F(tau(t)) to a few percent, where
K = ceiling_share * A * r' is the *subscription* ceiling (millions of registered SIMs at full
diffusion and coverage; A the addressable population, r' the registered SIMs per user), while
ceiling_share, A and r' trade off along a ridge that only their priors bound. Early in a Bass
diffusion F(tau) ~ p tau, and while access was restricted tau ~ rho t, so the 2009 figures pin
K p rho while K, p and rho trade off. The sampler therefore moves

- ``log_subscription_ceiling`` = log K (log millions of SIMs) instead of ceiling_share,
- ``log_initial_subscription_rate`` = log(K p) (log millions of SIMs per effective year at the
  start of the diffusion, full coverage) instead of the innovation rate p (Bass form only),
- ``log_restricted_subscription_rate`` = log(K p rho) (the same per real year while access
  was restricted) instead of the restricted pace rho (Bass form only).

A change of coordinates only: given the other variables, each quantity keeps exactly its
prior (``priors.make_shifted_log_variable``), so prior and posterior are those of the original
coordinates (tested; BENCHMARKS.md measures what it buys). A quantity whose prior has real
support (a Normal) keeps its own coordinate."""


def sampler_coordinates(config: ModelConfig) -> dict[str, str]:
    """Return the pinned coordinates a model built with ``config`` samples.

    Each coordinate is mapped to the prior quantity it stands in for (``PINNED_COORDINATES``);
    empty for ``coordinates = "original"``.
    """
    if config.sampler.coordinates != "pinned":
        return {}
    names = set(free_parameters(config))
    pinned = {
        coordinate: quantity
        for coordinate, quantity in PINNED_COORDINATES.items()
        if quantity in names and SUPPORTS[config.priors[quantity].dist] != "real"
    }
    if "log_initial_subscription_rate" not in pinned:  # its scale needs the Bass p
        pinned.pop("log_restricted_subscription_rate", None)
    return pinned


class _Priors:
    """Factory for the model's prior quantities, in the sampler coordinates the config asks for.

    Hyperparameters are read from the model's ``HYPERPARAMETER_DATA`` vector ``hyper``.
    """

    def __init__(self, config: ModelConfig, hyper):
        self.priors = config.priors
        self.position = {pair: i for i, pair in enumerate(hyperparameter_layout(self.priors))}
        self.hyper = hyper
        self.pinned = {
            quantity: coordinate for coordinate, quantity in sampler_coordinates(config).items()
        }

    def hyperparameters(self, name: str) -> dict:
        """Return the (symbolic) hyperparameters of the prior of ``name``, by parameter name."""
        keys = DISTRIBUTIONS[self.priors[name].dist][1]
        return {key: self.hyper[self.position[(name, key)]] for key in keys}

    def __call__(self, name: str, log_scale=None, **kwargs):
        """Create the quantity ``name`` with its prior.

        With ``log_scale`` (log of a positive expression of other variables) and a pinned
        coordinate for ``name``, the sampler moves log(name) + log_scale instead and ``name``
        is derived from it.
        """
        coordinate = self.pinned.get(name)
        if coordinate is None or log_scale is None:
            return make_random_variable(
                name, self.priors[name], self.hyperparameters(name), **kwargs
            )
        shifted = make_shifted_log_variable(
            coordinate, self.priors[name], self.hyperparameters(name), log_scale
        )
        return pm.Deterministic(name, pt.exp(shifted - log_scale))


PACE_VECTORS = ("pace_deviation_observed", "pace_innovation_forecast")
"""The vector-valued free variables: the pace deviations of the observed periods (centred)
and the standard-normal innovations of the forecast periods (non-centred)."""


def prior_log_densities(model: pm.Model, config: ModelConfig) -> dict[str, object]:
    """Return the log prior density of every prior quantity, as symbolic functions of the model.

    One term (nats, on each quantity's own scale, no Jacobian) per prior quantity
    (``free_parameters``) and per pace vector (``PACE_VECTORS``), as functions of
    ``model``'s random variables: the ``log_prior`` group of a run.
    """
    priors = _Priors(config, model[HYPERPARAMETER_DATA])
    terms = {
        name: prior_log_density(config.priors[name], priors.hyperparameters(name), model[name])
        for name in free_parameters(config)
    }
    free = {rv.name for rv in model.free_RVs}
    for name in PACE_VECTORS:
        if name in free:
            terms[name] = pm.logp(model[name], model[name])
        else:  # partially non-centred: the deviations' own Normal(0, sd) density
            observed = model[name].shape[0]
            sd = model["deviation_scale"] * model["pace_sd_factor"][:observed]
            terms[name] = pm.logp(pm.Normal.dist(0.0, sd), model[name])
    return terms


def build_model(observations: pd.DataFrame, config: ModelConfig) -> pm.Model:
    """Build the PyMC model for ``observations`` (from ``bayes_koryo.data``) and ``config``.

    Raises DataValidationError for a malformed table or an observation outside the config's
    window (launch, horizon] (an ObservationWindowError, also a ConfigError).
    """
    check_observation_frame(observations)
    use_reproducible_numerics()  # in case the process turned fastmath back on since import
    grid = time_grid(config, observations["date"])
    blocks = observation_blocks(observations, config, grid)
    periods = pace_periods(grid, observations.loc[observations["kind"].isin(config.kinds), "date"])
    table = observation_table(blocks, config)
    # the random variables are created in the order of the generative story (module
    # docstring); the order fixes the random draws of a seed, so keep it
    with pm.Model(coords=_model_coords(config, grid, periods, blocks, table)) as model:
        prior = _Priors(
            config,
            pm.Data(
                HYPERPARAMETER_DATA, hyperparameter_values(config.priors), dims="hyperparameter"
            ),
        )
        observed_table = pm.Data(
            OBSERVATION_TABLE, table, dims=("observation_row", "observation_column")
        )
        population = _demography(prior)  # 1. demography (millions of people)
        sims = _sims_per_user(prior)  # 2. registered SIMs per unique user r'
        # 3. ceilings: users M = ceiling_share * A; subscriptions K = M r'
        ceiling_share, log_subscription_ceiling = _ceilings(prior, config, population, sims)
        # 4. diffusion within the covered population, on the access-regime clock
        curve = {
            name: prior(name, log_scale=log_subscription_ceiling)
            for name in GROWTH_PARAMETERS[config.growth_form]
        }
        log_initial_rate = (
            log_subscription_ceiling + pt.log(curve["innovation_rate"])
            if "innovation_rate" in curve
            else None
        )
        diffusion = _diffusion(prior, config, grid, periods, curve, log_initial_rate)
        log_subscriptions = log_subscription_ceiling + diffusion["log_fraction"]
        log_subscriptions_at_reports = (
            log_subscription_ceiling + diffusion["log_fraction_at_reports"]
        )
        # 5. one likelihood per kind of figure
        active = _log_active_share(prior, sims, config.activity_depressed)
        _likelihood(blocks, observed_table, periods, log_subscriptions_at_reports, active)
        # 6. shared phones (variant): people per private SIM holder, outside the likelihood
        users_per_holder = 1.0 + prior("extra_users_per_holder") if config.shared_phones else None
        # 7. composition over time (variant): the early cohort's own shares
        if config.composition == "access_cohorts":
            early = _early_composition(prior, sims)
            holders = _cohort_holders(
                diffusion, log_subscriptions, log_subscription_ceiling, sims, early
            )
        else:
            holders = _Holders(
                pt.exp(log_subscriptions - sims.log_per_user),
                ceiling_share * population.addressable,
                None,
            )
        _derived_quantities(
            grid,
            population,
            sims,
            holders,
            diffusion,
            log_subscriptions,
            log_subscriptions_at_reports,
            users_per_holder,
            derive_subscription_ceiling=config.ceiling_prior == "users",
        )
    model.report_dates = pd.DatetimeIndex(sorted(set(observations["date"])))
    return model


def _ceilings(prior: _Priors, config: ModelConfig, population: _Population, sims: _SimsPerUser):
    """Create the ceiling prior (step 3); return (ceiling_share, log subscription ceiling K).

    The prior is on the user ceiling's share of A (K = M r' derived) or, with
    ``ceiling_prior = "subscriptions"``, on K (ceiling_share = K / (r' A) derived).
    """
    log_ceiling_scale = pt.log(population.addressable) + sims.log_per_user
    if config.ceiling_prior == "subscriptions":
        log_subscription_ceiling = pt.log(prior("subscription_ceiling"))
        ceiling_share = pm.Deterministic(
            "ceiling_share", pt.exp(log_subscription_ceiling - log_ceiling_scale)
        )
        return ceiling_share, log_subscription_ceiling
    ceiling_share = prior("ceiling_share", log_scale=log_ceiling_scale)
    return ceiling_share, pt.log(ceiling_share) + log_ceiling_scale


def _log_active_share(prior: _Priors, sims: _SimsPerUser, activity_depressed: bool):
    """Return log(1 - iota), times (1 - activity_depression) in the mourning variant."""
    log_active_share = pt.log1p(-sims.inactive_share)
    if activity_depressed:
        log_active_share = log_active_share + pt.log1p(-prior("activity_depression"))
    return log_active_share


def _model_coords(
    config: ModelConfig,
    grid: pd.DatetimeIndex,
    periods: PacePeriods,
    blocks: list[ObservationBlock],
    table: np.ndarray,
) -> dict[str, Any]:
    """Return the coordinates (dims) of the model: dates, periods, hyperparameters, table."""
    return {
        "date": grid,
        "period": periods.ends,
        "observed_period": periods.ends[: periods.observed],
        "forecast_period": periods.ends[periods.observed :],
        **{f"{b.kind}_date": b.dates for b in blocks},
        "hyperparameter": [
            hyperparameter_name(v, k) for v, k in hyperparameter_layout(config.priors)
        ],
        "observation_column": list(OBSERVATION_TABLE_COLUMNS),
        "observation_row": np.arange(len(table)),
    }


@dataclass(frozen=True)
class _Population:
    """Symbolic population quantities (millions of people)."""

    aged_10plus: Any  # total - children under 10
    addressable: Any  # A = aged 10+ - soldiers


def _demography(prior: _Priors) -> _Population:
    """Create the demography priors (step 1): the population aged 10+ and addressable A."""
    population_total = prior("population_total")
    population_10plus = population_total - prior("children_under_10")
    return _Population(population_10plus, population_10plus - prior("soldiers"))


@dataclass(frozen=True)
class _SimsPerUser:
    """Symbolic SIM holdings: r = 1 + pi (m - 1) per private user and r' per unique user."""

    per_heavy_user: Any  # m = 2 + sims_beyond_two
    per_private_user: Any  # r
    official_share: Any  # omega
    inactive_share: Any  # iota
    log_per_user: Any  # log r' = log r - log(1 - iota) - log(1 - omega)


def _sims_per_user(prior: _Priors) -> _SimsPerUser:
    """Create the priors of SIMs per user (step 2): registered SIMs r' = r / ((1-iota)(1-omega))."""
    heavy_share = prior("heavy_user_share")
    sims_per_heavy_user = 2.0 + prior("sims_beyond_two")
    official_share = prior("official_share")
    inactive_share = prior("inactive_share")
    return _composition(heavy_share, sims_per_heavy_user, official_share, inactive_share)


def _early_composition(prior: _Priors, later: _SimsPerUser) -> _SimsPerUser:
    """Create the early cohort's shares (access-cohorts variant); m and iota are the later ones."""
    heavy_share = prior("early_heavy_user_share")
    official_share = prior("early_official_share")
    return _composition(heavy_share, later.per_heavy_user, official_share, later.inactive_share)


def _composition(heavy_share, sims_per_heavy_user, official_share, inactive_share) -> _SimsPerUser:
    """Return r = 1 + pi (m - 1) and log r' = log r - log(1 - iota) - log(1 - omega)."""
    sims_per_private_user = 1.0 + heavy_share * (sims_per_heavy_user - 1.0)
    log_sims_per_user = (
        pt.log(sims_per_private_user) - pt.log1p(-inactive_share) - pt.log1p(-official_share)
    )
    return _SimsPerUser(
        sims_per_heavy_user,
        sims_per_private_user,
        official_share,
        inactive_share,
        log_sims_per_user,
    )


@dataclass(frozen=True)
class _Holders:
    """Private SIM holders (millions): on the grid, at the ceiling, and their cohorts.

    ``cohorts`` is None for one constant composition; else ((registered SIMs on the grid,
    composition) of the early cohort, (the same) of the later one).
    """

    on_grid: Any
    ceiling: Any
    cohorts: tuple[tuple[Any, _SimsPerUser], tuple[Any, _SimsPerUser]] | None
    subscription_ceiling: Any = None  # K, when it is not the user ceiling times S/U


def _cohort_holders(
    diffusion: dict, log_subscriptions, log_subscription_ceiling, later, early
) -> _Holders:
    """Split the registered SIMs into access cohorts and count their holders (millions).

    The early cohort is the SIMs registered by the opening T_o: S_e(t) = min(S(t), S(T_o))
    (S(T_o) linear between the grid points, 0 at launch); the later cohort S(t) - S_e(t).
    Holders = S_e / r'_e + (S - S_e) / r'_l. The ceiling prior is on the later composition's
    users (K = M_l r'_l), so the holder ceiling is S(T_o) / r'_e + (K - S(T_o)) / r'_l.
    """
    years = pt.concatenate([pt.zeros(1), diffusion["grid_years"]])
    subscriptions = pt.exp(log_subscriptions)
    sims_by_date = pt.concatenate([pt.zeros(1), subscriptions])
    opening = pt.clip(diffusion["access_open_time"], 0.0, years[-1])
    right = pt.clip(pt.searchsorted(years, opening, side="right"), 1, years.shape[0] - 1)
    weight = (opening - years[right - 1]) / (years[right] - years[right - 1])
    at_opening = sims_by_date[right - 1] + weight * (sims_by_date[right] - sims_by_date[right - 1])
    early_sims = pt.where(
        diffusion["grid_years"] <= opening, subscriptions, pt.minimum(subscriptions, at_opening)
    )
    later_sims = subscriptions - early_sims
    holders = early_sims * pt.exp(-early.log_per_user) + later_sims * pt.exp(-later.log_per_user)
    ceiling = at_opening * pt.exp(-early.log_per_user) + (
        pt.exp(log_subscription_ceiling) - at_opening
    ) * pt.exp(-later.log_per_user)
    cohorts = ((early_sims, early), (later_sims, later))
    return _Holders(holders, ceiling, cohorts, pt.exp(log_subscription_ceiling))


def _derived_quantities(
    grid: pd.DatetimeIndex,
    population: _Population,
    sims: _SimsPerUser,
    holders: _Holders,
    diffusion: dict,
    log_subscriptions,
    log_subscriptions_at_reports,
    users_per_holder=None,
    derive_subscription_ceiling: bool = True,
) -> None:
    """Name the derived quantities of the model (millions; shares as fractions).

    ``users_per_holder``: h of the shared-phones variant (None: every user holds a SIM, h = 1).
    ``derive_subscription_ceiling``: False when the subscription ceiling has the prior.
    With access cohorts, S/U changes over time: ``sims_per_user`` and ``real_user_share`` are
    then taken at the grid date nearest DECOMPOSITION_DATE, ``real_user_share_by_date`` is U/S
    on the grid, and the other scalars (``sims_per_private_user``...) are the later cohort's.
    """
    pm.Deterministic("period_pace_deviation", diffusion["period_deviation"], dims="period")
    # what the likelihood sees (equal to `subscriptions` at the report dates; tested)
    pm.Deterministic(
        "subscriptions_at_reports", pt.exp(log_subscriptions_at_reports), dims="observed_period"
    )
    h = 1.0 if users_per_holder is None else pm.Deterministic("users_per_holder", users_per_holder)
    user_ceiling = pm.Deterministic("user_ceiling", holders.ceiling * h)
    users = pm.Deterministic("unique_users", holders.on_grid * h, dims="date")
    subscriptions = pm.Deterministic("subscriptions", pt.exp(log_subscriptions), dims="date")
    pm.Deterministic("penetration_10plus", users / population.aged_10plus, dims="date")
    pm.Deterministic("penetration_addressable", users / population.addressable, dims="date")
    pm.Deterministic("addressable_population", population.addressable)
    pm.Deterministic("population_10plus", population.aged_10plus)
    if holders.cohorts is None:
        log_sims_per_user = sims.log_per_user
        if users_per_holder is not None:
            log_sims_per_user = log_sims_per_user - pt.log(h)
    else:
        k = int(grid.get_indexer([pd.Timestamp(DECOMPOSITION_DATE)], method="nearest")[0])
        log_sims_per_user = log_subscriptions[k] - pt.log(users[k])
        pm.Deterministic("real_user_share_by_date", users / subscriptions, dims="date")
    sims_per_user = pm.Deterministic("sims_per_user", pt.exp(log_sims_per_user))
    pm.Deterministic("real_user_share", 1.0 / sims_per_user)
    pm.Deterministic("sims_per_private_user", sims.per_private_user)
    pm.Deterministic("sims_per_heavy_user", sims.per_heavy_user)
    if derive_subscription_ceiling:  # else it is a prior quantity of the model
        ceiling = holders.subscription_ceiling
        pm.Deterministic(
            "subscription_ceiling", user_ceiling * sims_per_user if ceiling is None else ceiling
        )
    pm.Deterministic("pace_deviation", diffusion["pace_deviation"], dims="date")
    pm.Deterministic("effective_clock", diffusion["clock"], dims="date")
    pm.Deterministic("population_coverage", diffusion["coverage"], dims="date")
    # decomposition of registered SIMs at the 2M milestone
    _decomposition(grid, holders, subscriptions, sims)


def _decomposition(
    grid: pd.DatetimeIndex, holders: _Holders, subscriptions, sims: _SimsPerUser
) -> None:
    """Split the registered SIMs at DECOMPOSITION_DATE (the 2M milestone), if on the grid.

    The parts (millions): the private SIM holders' first SIMs (``decomposition_unique_users``:
    the unique users unless phones are shared), their extra SIMs, official lines, inactive
    numbers; with access cohorts, each part is the sum of the two cohorts' parts.
    """
    k = int(grid.get_indexer([pd.Timestamp(DECOMPOSITION_DATE)])[0])
    if k < 0:
        return
    s_k, u_k = subscriptions[k], holders.on_grid[k]
    if holders.cohorts is None:
        extra = u_k * (sims.per_private_user - 1.0)
        official = s_k * (1.0 - sims.inactive_share) * sims.official_share
    else:
        extra = official = 0.0
        for cohort_sims, part in holders.cohorts:
            active = cohort_sims[k] * (1.0 - part.inactive_share)
            extra = extra + active * (1.0 - part.official_share) * (
                1.0 - 1.0 / part.per_private_user
            )
            official = official + active * part.official_share
    pm.Deterministic("decomposition_unique_users", u_k)
    pm.Deterministic("decomposition_extra_sims", extra)
    pm.Deterministic("decomposition_official_lines", official)
    pm.Deterministic("decomposition_inactive_numbers", s_k * sims.inactive_share)


def _diffusion(
    prior: _Priors,
    config: ModelConfig,
    grid: pd.DatetimeIndex,
    periods: PacePeriods,
    curve: dict,
    log_initial_rate=None,
) -> dict:
    """Build the generalized Bass model within the covered population (step 4).

    Returns log(c(t) F(tau(t))) on the grid and at the report dates, with the pace
    deviations, the clock tau and the coverage c.

    c(t): population coverage, interpolated through the reported figures (2010-2011) and two
    prior-driven knots (launch, end-2009). tau(t) = integral of the access-regime pace
    (restricted until the opening) times exp(deviation of the period); a period's deviation
    has sd deviation_scale * sqrt(PACE_REFERENCE_YEARS / period length). Up to the last
    report the deviations are sampled centred, ~ Normal(0, sd): two reports pin each one to
    a few percent, where the non-centred innovation would have to move as 1 / deviation_scale
    (MODEL.md, "Generative story" and "Validation"); after it, deviation = sd * innovation
    with standard-normal innovations.
    """
    grid_years = years_since(config.launch, grid)
    report_years = years_since(config.launch, periods.ends[: periods.observed])
    knots = coverage_knots(config, until=periods.ends[periods.observed - 1])
    t = pm.Data("grid_years", grid_years, dims="date")
    knot_values = pt.concatenate(
        [
            pt.stack([prior("coverage_at_launch"), prior("coverage_end_2009")]),
            pt.as_tensor(knots.reported_values),
        ]
    )
    coverage = pt.dot(
        pm.Data("coverage_weights", interpolation_matrix(grid_years, knots.years)), knot_values
    )
    coverage_at_reports = pt.dot(
        pm.Data("coverage_weights_at_reports", interpolation_matrix(report_years, knots.years)),
        knot_values,
    )
    deviation_scale = prior("deviation_scale")
    sd_factor = pm.Data(
        "pace_sd_factor", periods.deviation_sd_factors(config.launch), dims="period"
    )
    observed_dev, period_deviation = _pace_deviations(
        deviation_scale, sd_factor, periods, config.sampler.pace_centring
    )
    pace_deviation = period_deviation[periods.of_grid]
    restricted_pace = prior("restricted_pace", log_scale=log_initial_rate)
    access_open_time = prior("access_open_time")
    base_clock = effective_clock(
        pt.concatenate([pt.zeros(1), t]), restricted_pace, access_open_time, xp=pt
    )
    tau = pt.cumsum((base_clock[1:] - base_clock[:-1]) * pt.exp(pace_deviation))
    # the same clock at the report dates only, for the likelihood: the deviation is constant
    # within a period, so the grid sum telescopes to one term per period (exactly equal at
    # every report date; the grid is only needed for the derived quantities)
    report_clock = effective_clock(
        pt.concatenate([pt.zeros(1), report_years]), restricted_pace, access_open_time, xp=pt
    )
    tau_at_reports = pt.cumsum((report_clock[1:] - report_clock[:-1]) * pt.exp(observed_dev))
    return {
        "log_fraction": pt.log(coverage)
        + log_adopted_fraction(config.growth_form, tau, curve, xp=pt),
        "log_fraction_at_reports": pt.log(coverage_at_reports)
        + log_adopted_fraction(config.growth_form, tau_at_reports, curve, xp=pt),
        "period_deviation": period_deviation,
        "pace_deviation": pace_deviation,
        "clock": tau,
        "coverage": coverage,
        "grid_years": t,
        "access_open_time": access_open_time,
    }


def _pace_deviations(deviation_scale, sd_factor, periods: PacePeriods, centring: float):
    """Create the pace deviations; return (observed periods', every period's).

    Centred up to the last report (the data pin each period's growth; ``centring`` c < 1
    moves w ~ N(0, sd^c) instead, deviation = sd^(1-c) w ~ N(0, sd)), non-centred after it
    (no data: independent standard-normal innovations times the period's sd).
    """
    observed_sd = deviation_scale * sd_factor[: periods.observed]
    if centring == 1.0:
        observed_dev = pm.Normal(
            "pace_deviation_observed", 0.0, observed_sd, dims="observed_period"
        )
    else:
        scaled = pm.Normal(
            "pace_deviation_observed_scaled", 0.0, observed_sd**centring, dims="observed_period"
        )
        observed_dev = pm.Deterministic(
            "pace_deviation_observed",
            observed_sd ** (1.0 - centring) * scaled,
            dims="observed_period",
        )
    forecast_dev = (deviation_scale * sd_factor[periods.observed :]) * pm.Normal(
        "pace_innovation_forecast", 0.0, 1.0, dims="forecast_period"
    )
    return observed_dev, pt.concatenate([observed_dev, forecast_dev])


def _likelihood(
    blocks: list[ObservationBlock],
    observed_table,
    periods: PacePeriods,
    log_subscriptions_at_reports,
    log_active_share,
) -> None:
    """Create one observed variable per kind of figure (step 5).

    Audited counts are log-normal around S(t), rounded figures interval-censored
    (``interval_logp``); the activity statement is the active share falling in its cell.
    """
    report_dates_used = periods.ends[: periods.observed]
    for block, rows in zip(blocks, table_rows(blocks), strict=True):
        if block.kind.startswith("activity_statement"):  # the share, one per statement
            mu = pt.broadcast_to(log_active_share, (len(block.dates),))
        else:
            mu = log_subscriptions_at_reports[report_dates_used.get_indexer(block.dates)]
        observed, lo, hi, sd = (observed_table[rows, j] for j in range(4))
        if block.is_interval:
            pm.CustomDist(
                f"reported_{block.kind}",
                mu,
                lo,
                hi,
                sd,
                logp=interval_logp,
                dist=interval_replicate,
                observed=observed,
                dims=f"{block.kind}_date",
            )
        else:
            pm.Normal(
                f"reported_{block.kind}", mu, sd, observed=observed, dims=f"{block.kind}_date"
            )
