"""Diffusion curves and the access-regime clock, written once for numpy and pytensor.

Time ``t`` is in **years since launch** (15 Dec 2008). Every curve returns the adopted
fraction F(tau) of the user ceiling, in (0, 1), on the *effective* clock ``tau``.

The effective clock encodes the two access regimes of the launch years: until ``open_time``
the service was restricted (security officials, licensed traders; 38 North 2013), so the
diffusion clock runs at the fraction ``restricted_pace`` of real time; afterwards it runs at
full speed. The switch is smoothed over ``width`` years with a logistic ramp, whose integral
is closed-form (softplus), so tau(t) is smooth and exact:

    tau(t) = rho t + (1 - rho) w [softplus((t - t_open)/w) - softplus(-t_open/w)]

Functions take an array namespace ``xp`` (``numpy`` or ``pytensor.tensor``) so that the
model graph and the numpy post-processing (forecasts, simulation) share one implementation.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

GROWTH_FORMS = ("bass", "logistic", "gompertz")
"""Selectable diffusion curves (``growth.form`` in a model config)."""

GROWTH_PARAMETERS = {
    "bass": ("innovation_rate", "imitation_rate"),
    "logistic": ("logistic_rate", "logistic_midpoint"),
    "gompertz": ("gompertz_displacement", "gompertz_rate"),
}
"""Names of the curve parameters of each form (free random variables of the model)."""

ACCESS_RAMP_WIDTH_YEARS = 1.0 / 12.0
"""Width of the logistic switch between access regimes (one month; fixed, not estimated)."""


def _softplus(x, xp: ModuleType):
    if xp is np:
        return np.logaddexp(0.0, x)
    return xp.softplus(x)


def effective_clock(
    t, restricted_pace, open_time, xp: ModuleType = np, width: float = ACCESS_RAMP_WIDTH_YEARS
):
    """Effective diffusion time tau (years) at real time ``t`` (years since launch)."""
    ramp = _softplus((t - open_time) / width, xp) - _softplus(-open_time / width, xp)
    return restricted_pace * t + (1.0 - restricted_pace) * width * ramp


def log_adopted_fraction(form: str, tau, params: dict, xp: ModuleType = np):
    """Log F(tau) for the named growth form; ``params`` maps GROWTH_PARAMETERS names to values.

    - bass: F = (1 - e^{-(p+q) tau}) / (1 + (q/p) e^{-(p+q) tau})  (Bass 1969), F(0) = 0.
    - logistic: F = 1 / (1 + e^{-k (tau - tau_m)}).
    - gompertz: F = exp(-b e^{-k tau}).
    """
    if form == "bass":
        p, q = params["innovation_rate"], params["imitation_rate"]
        decay = xp.exp(-(p + q) * tau)
        return xp.log(-xp.expm1(-(p + q) * tau)) - xp.log1p((q / p) * decay)
    if form == "logistic":
        k, mid = params["logistic_rate"], params["logistic_midpoint"]
        return -_softplus(-k * (tau - mid), xp)
    if form == "gompertz":
        b, k = params["gompertz_displacement"], params["gompertz_rate"]
        return -b * xp.exp(-k * tau)
    raise ValueError(f"unknown growth form {form!r}; choose one of {GROWTH_FORMS}")
