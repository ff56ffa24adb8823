"""The pace-deviation prior does not depend on where report dates cut the clock."""

import datetime as dt

import numpy as np
import pandas as pd
import pytensor
import pytest

from bayes_koryo.data import load_observations
from bayes_koryo.model.config import default_config
from bayes_koryo.model.graph import PACE_REFERENCE_YEARS, PacePeriods, build_model

LAUNCH = dt.date(2009, 1, 1)
SPLITS = {
    "one year": [365],
    "four quarters": [91, 91, 91, 92],
    "16 days + rest": [16, 349],
    "monthly": [30] * 12 + [5],
}
"""Ways of cutting the same year into report periods (days)."""


def _periods(days: list[int]) -> PacePeriods:
    ends = pd.DatetimeIndex(
        [pd.Timestamp(LAUNCH) + pd.Timedelta(days=int(d)) for d in np.cumsum(days)]
    )
    return PacePeriods(ends, len(ends), np.arange(len(ends)))


def _log_clock_sd(days: list[int], sigma: float, scaled: bool) -> float:
    """Prior sd of log(clock increment over the year / its length) under i.i.d. deviations."""
    periods = _periods(days)
    length = periods.years(LAUNCH)
    factor = periods.deviation_sd_factors(LAUNCH) if scaled else np.ones(length.size)
    z = np.random.default_rng(1).standard_normal((200_000, length.size))
    return float(np.std(np.log((length * np.exp(sigma * factor * z)).sum(1) / length.sum())))


def test_sd_factor_is_one_for_a_quarter_and_scales_with_inverse_root_length():
    periods = _periods([91, 365, 16])
    lengths = periods.years(LAUNCH)
    assert lengths.sum() == pytest.approx(472 / 365.25)
    factors = periods.deviation_sd_factors(LAUNCH)
    assert factors[0] == pytest.approx(1.0, abs=0.01)
    np.testing.assert_allclose(factors, np.sqrt(PACE_REFERENCE_YEARS / lengths))


@pytest.mark.parametrize("sigma, tolerance", [(0.1, 0.02), (0.3, 0.10)])
def test_clock_prior_is_the_same_however_reports_cut_the_year(sigma, tolerance):
    """To first order in sigma the log clock increment's sd does not depend on the split."""
    sds = {name: _log_clock_sd(days, sigma, scaled=True) for name, days in SPLITS.items()}
    reference = sds["one year"]
    for name, sd in sds.items():
        assert sd == pytest.approx(reference, rel=tolerance), (name, sds)


def test_equal_sds_per_period_would_depend_on_the_split():
    """The rule this replaces (sd sigma for every period): a year and four quarters differ 2x."""
    one = _log_clock_sd(SPLITS["one year"], 0.1, scaled=False)
    quarters = _log_clock_sd(SPLITS["four quarters"], 0.1, scaled=False)
    assert one / quarters == pytest.approx(2.0, rel=0.05)


def test_model_deviations_have_sd_scale_times_sd_factor():
    """The observed periods' deviations are centred: Normal(0, deviation_scale * factor)."""
    from scipy.stats import norm

    model = build_model(load_observations(), default_config())
    factors = model["pace_sd_factor"].get_value()
    n = len(model.coords["observed_period"])
    point = model.initial_point()
    deviation = np.linspace(-0.5, 0.5, n)
    point["pace_deviation_observed"] = deviation
    outputs = [
        model.logp(vars=[model["pace_deviation_observed"]], sum=False)[0],
        *model.replace_rvs_by_values([model["deviation_scale"]]),
    ]
    evaluate = pytensor.function(model.value_vars, outputs, on_unused_input="ignore")
    logp, scale = evaluate(**point)
    np.testing.assert_allclose(logp, norm.logpdf(deviation, 0.0, scale * factors[:n]), rtol=1e-8)
    assert factors[0] > 2  # the 16 days from launch to the first report
