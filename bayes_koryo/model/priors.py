"""Default priors, each with its justification and source.

A prior is a distribution family plus named hyperparameters. In the model all hyperparameters
live in one ``pm.Data`` vector (``HYPERPARAMETER_DATA``, one entry ``<variable>__<parameter>``
each, in ``hyperparameter_layout`` order) so that a compiled model can be refitted with other
prior values without recompiling. One vector, not one container per hyperparameter: nutpie's
compile time grows steeply with the number of shared variables (80 s for 50 scalars against
15 s for one vector of 50, measured on a toy model).

Units: people and SIM counts in **millions**; times in **years since launch (15 Dec 2008)**;
shares are fractions in (0, 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayes_koryo.errors import ConfigError, did_you_mean

DISTRIBUTIONS: dict[str, tuple[type[pm.Distribution], tuple[str, ...]]] = {
    "Normal": (pm.Normal, ("mu", "sigma")),
    "HalfNormal": (pm.HalfNormal, ("sigma",)),
    "LogNormal": (pm.LogNormal, ("mu", "sigma")),
    "Beta": (pm.Beta, ("alpha", "beta")),
    "Gamma": (pm.Gamma, ("alpha", "beta")),
}
"""Supported prior families and their hyperparameters (PyMC parameterisation)."""

POSITIVE_PARAMETERS = {"sigma", "alpha", "beta"}

SUPPORTS: dict[str, str] = {
    "Normal": "real",
    "HalfNormal": "positive",
    "LogNormal": "positive",
    "Beta": "unit",
    "Gamma": "positive",
}
"""Where each family puts its mass: ``real`` (all numbers), ``positive`` (> 0), ``unit`` (0, 1)."""

DOMAIN_TEXT = {
    "real": "any real number",
    "positive": "positive values",
    "unit": "the interval (0, 1)",
}
_INSIDE = {"real": {"real", "positive", "unit"}, "positive": {"positive", "unit"}, "unit": {"unit"}}

MAX_MASS_OUTSIDE = 1e-6
"""A Normal prior on a restricted parameter may put at most this mass outside its domain."""


def _normal_mass_outside(mu: float, sigma: float, domain: str) -> float:
    """P(X outside ``domain``) for X ~ Normal(mu, sigma)."""
    below_zero = 0.5 * math.erfc(mu / (sigma * math.sqrt(2.0)))
    if domain == "positive":
        return below_zero
    if domain == "unit":
        return below_zero + 0.5 * math.erfc((1.0 - mu) / (sigma * math.sqrt(2.0)))
    return 0.0


@dataclass(frozen=True)
class Prior:
    """A prior: family name and hyperparameters, with the reason for it."""

    dist: str
    params: dict[str, float]
    justification: str = ""
    source: str = ""
    units: str = ""

    def to_dict(self) -> dict:
        """Return the plain-data form ``{"dist": family, **hyperparameters}`` (TOML layout)."""
        return {"dist": self.dist, **self.params}

    def validate(self, name: str) -> None:
        """Raise ConfigError when the family is unknown or a parameter is missing/invalid."""
        if self.dist not in DISTRIBUTIONS:
            raise ConfigError(
                f"priors.{name}.dist: unknown distribution {self.dist!r}; "
                f"choose one of {', '.join(DISTRIBUTIONS)}"
            )
        expected = DISTRIBUTIONS[self.dist][1]
        missing = [p for p in expected if p not in self.params]
        extra = [p for p in self.params if p not in expected]
        if missing or extra:
            raise ConfigError(
                f"priors.{name}: {self.dist} takes parameters {', '.join(expected)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (
                    f"; unknown {', '.join(map(str, extra))}{did_you_mean(extra[0], expected)}"
                    if extra
                    else ""
                )
            )
        for key, value in self.params.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"priors.{name}.{key}: expected a number, got {value!r}")
            try:
                finite = math.isfinite(float(value))
            except OverflowError:  # an int beyond float range
                finite = False
            if not finite:
                raise ConfigError(f"priors.{name}.{key}: must be finite, got {value!r:.40}")
            if key in POSITIVE_PARAMETERS and value <= 0:
                raise ConfigError(f"priors.{name}.{key}: must be > 0, got {value!r}")
        self._check_domain(name)

    def _check_domain(self, name: str) -> None:
        """Check that the family's support lies in the parameter's domain (see DOMAINS).

        A Normal may spill over only a negligible mass (MAX_MASS_OUTSIDE). Raises ConfigError.
        """
        domain = DOMAINS.get(name)
        support = SUPPORTS[self.dist]
        if domain is None or support in _INSIDE[domain]:
            return
        if self.dist == "Normal":
            mass = _normal_mass_outside(
                float(self.params["mu"]), float(self.params["sigma"]), domain
            )
            if mass <= MAX_MASS_OUTSIDE:
                return
            raise ConfigError(
                f"priors.{name}: Normal(mu={self.params['mu']:g}, sigma="
                f"{self.params['sigma']:g}) puts {mass:.2g} of its mass outside the domain "
                f"of {name} ({DOMAIN_TEXT[domain]}); move mu or shrink sigma, or use a family "
                f"with the right support ({', '.join(_families_for(domain))})"
            )
        raise ConfigError(
            f"priors.{name}: {self.dist} has support on {DOMAIN_TEXT[support]} but {name} "
            f"takes {DOMAIN_TEXT[domain]}; use one of {', '.join(_families_for(domain))}"
        )


def _families_for(domain: str) -> list[str]:
    return [family for family, support in SUPPORTS.items() if support == domain]


def _p(dist: str, units: str, justification: str, source: str, **params: float) -> Prior:
    return Prior(dist, {k: float(v) for k, v in params.items()}, justification, source, units)


KIM_2013 = (
    "Yonho Kim, 'A Closer Look at the Explosion of Cell Phone Subscribers', 38 North, 26 Nov 2013"
)

MICS_2017 = (
    "Central Bureau of Statistics of the DPR Korea and UNICEF, '2017 DPR Korea Multiple Indicator "
    "Cluster Survey, Survey Findings Report' (June 2018), mobile phone ownership and use, ages "
    "15-49; figures as reported by The Korea Herald, 25 Jun 2018"
)

DEFAULT_PRIORS: dict[str, Prior] = {
    # --- demography (millions of people, around 2012) --------------------------------------
    "population_total": _p(
        "Normal",
        "million people",
        "Total population around 2011-2013. Centre between the 2008 census (24.05M, +~2% growth "
        "to 2012 gives ~24.5M) and UN WPP 2013 (25.33M); sd covers the census-UN gap of ~0.7M.",
        "DPRK 2008 census (CBS/UNFPA); World Bank SP.POP.TOTL (UN WPP)",
        mu=24.9,
        sigma=0.4,
    ),
    "children_under_10": _p(
        "Normal",
        "million people",
        "Children under 10, who do not use phones. Kim (2013) says ~3M; the census 0-14 share "
        "(23.19%) times 10/15 gives ~3.7M. Centre 3.35M, sd 0.3M spans both.",
        f"{KIM_2013}; DPRK 2008 census age structure",
        mu=3.35,
        sigma=0.3,
    ),
    "soldiers": _p(
        "Normal",
        "million people",
        "Military personnel, who do not hold private phones. Census counts 0.70M in military "
        "facilities (an undercount per ROK estimates); ROK White Paper 2012 says 1.19M; KDI "
        "re-estimates 1.11-1.19M. Centre 0.95M, sd 0.15M covers 0.7-1.2M.",
        "DPRK 2008 census; ROK Defense White Paper 2012",
        mu=0.95,
        sigma=0.15,
    ),
    "ceiling_share": _p(
        "Beta",
        "fraction of the addressable population",
        "Ceiling on unique users as a share of the addressable population (aged 10+, not "
        "soldiers, ~20.6M). Experts expect stagnation near 3M subscriptions and a ceiling near "
        "5M (20% penetration, one phone per household, 5.9M households); handsets cost "
        "US$150-700 against ~US$1,800 GDP per head. Beta(5, 25): mean 0.167 (~3.4M users), "
        "90% interval 0.07-0.29 (~1.5M-5.9M users).",
        f"{KIM_2013}; DPRK 2008 census (households)",
        alpha=5,
        beta=25,
    ),
    "subscription_ceiling": _p(
        "LogNormal",
        "millions of registered SIMs",
        "Subscription-ceiling variant only ([structure] ceiling_prior = 'subscriptions'): the "
        "registered SIMs at full diffusion and coverage. The experts' figures count "
        "subscriptions: a ceiling near 5M (20% penetration, one phone per household, 5.9M "
        "households) and stagnation near 3M. LogNormal(log 5, 0.35): median 5.0M, 90% "
        "interval 2.8-8.9M, P(below 3M) = 0.07, so both figures lie inside the central 90%. "
        "The user ceiling M = K / r' then follows from the SIMs-per-user priors.",
        f"{KIM_2013}; DPRK 2008 census (households)",
        mu=1.609,
        sigma=0.35,
    ),
    # --- diffusion curve ------------------------------------------------------------------
    "innovation_rate": _p(
        "LogNormal",
        "per year (on the effective clock)",
        "Bass coefficient of innovation p. Meta-analysis of 213 diffusion studies: mean p = 0.03 "
        "per year; log-sd 0.8 spans 0.008-0.11 (90%).",
        "Sultan, Farley & Lehmann (1990), J. Marketing Research 27(1):70-77",
        mu=-3.5,
        sigma=0.8,
    ),
    "imitation_rate": _p(
        "LogNormal",
        "per year (on the effective clock)",
        "Bass coefficient of imitation q. Meta-analysis mean q = 0.38 per year; mobile phones "
        "diffused faster than the average durable, so centre 0.45 with log-sd 0.5 (90% "
        "interval 0.2-1.0).",
        "Sultan, Farley & Lehmann (1990); Bass (1969), Management Science 15(5):215-227",
        mu=-0.8,
        sigma=0.5,
    ),
    "logistic_rate": _p(
        "LogNormal",
        "per year (on the effective clock)",
        "Logistic growth rate k; comparable to the Bass p + q (0.3-1.3 per year).",
        "Sultan, Farley & Lehmann (1990), via p + q",
        mu=-0.4,
        sigma=0.5,
    ),
    "logistic_midpoint": _p(
        "Normal",
        "years (effective clock)",
        "Time of the logistic inflection (half the ceiling): the experts expected growth to go on "
        "past 2013, so the midpoint is centred 5 years after launch, sd 1.5.",
        KIM_2013,
        mu=5.0,
        sigma=1.5,
    ),
    "gompertz_displacement": _p(
        "LogNormal",
        "dimensionless",
        "Gompertz displacement b: F(0) = exp(-b). A few thousand users out of a few million at "
        "launch means F(0) ~ 1e-3, b ~ 7; log-sd 0.4.",
        "Launch-month count (1,694 SIMs at 31 Dec 2008; Orascom)",
        mu=1.95,
        sigma=0.4,
    ),
    "gompertz_rate": _p(
        "LogNormal",
        "per year (on the effective clock)",
        "Gompertz rate k, centred 0.45 per year (comparable to the Bass q), log-sd 0.5.",
        "Sultan, Farley & Lehmann (1990), via q",
        mu=-0.8,
        sigma=0.5,
    ),
    # --- network roll-out (coverage knots without a reported figure) ----------------------
    "coverage_at_launch": _p(
        "Beta",
        "fraction of the population",
        "Population coverage at launch (Dec 2008): Pyongyang only, 3.26M of 24.05M people "
        "(13.5%) in the 2008 census. Beta(6, 34): mean 0.15, 90% interval 0.07-0.25.",
        "DPRK 2008 census (Pyongyang population); Orascom launch release",
        alpha=6,
        beta=34,
    ),
    "coverage_end_2009": _p(
        "Beta",
        "fraction of the population",
        "Coverage at end-2009, when no figure was published: 153 base stations against 333 "
        "(91% coverage) a year later; coverage grows less than proportionally with stations "
        "(dense Pyongyang first), so centre 0.42 with a wide Beta(10, 14) (90%: 0.26-0.58).",
        "Orascom FY-2009/FY-2010 releases (bundled koryolink_network_2009_2011.csv)",
        alpha=10,
        beta=14,
    ),
    # --- access regimes (launch years) -------------------------------------------------------
    "restricted_pace": _p(
        "Beta",
        "fraction of real time",
        "Speed of the diffusion clock while access was restricted to security officials and "
        "licensed traders (2009), relative to open access. Beta(2, 3): mean 0.4, anything from "
        "a near halt to near-normal pace.",
        f"{KIM_2013}; the 2009 growth of the bundled Orascom series (x11 in the first quarter, "
        "then slowing)",
        alpha=2,
        beta=3,
    ),
    "access_open_time": _p(
        "Normal",
        "years since launch",
        "When access opened to the general public: growth accelerated through 2010 as the "
        "network was rolled out; centre early 2010 (1.25 years after launch), sd 0.4 years "
        "(mid-2009 to late 2010).",
        "Orascom 2009-2010 releases (bundled: growth accelerated through 2010 as coverage rose "
        "from 60% to 91%)",
        mu=1.25,
        sigma=0.4,
    ),
    "deviation_scale": _p(
        "HalfNormal",
        "sd of the log adoption pace in a quarter-long period",
        "Scale shared by the pace deviations of every period between two reports (and of each "
        "forecast year): promotions such as the two-week offer of March 2009, the mourning "
        "restrictions of Dec 2011 - Mar 2012. It is the sd for a quarter (most reports are "
        "quarterly); a period of length L has sd deviation_scale * sqrt(0.25 years / L), so "
        "the prior on the clock does not depend on when reports were published. "
        "HalfNormal(0.3): a typical quarter runs up to ~1/3 faster or slower than the curve, "
        "so the curve, not the deviations, carries the long-run path.",
        "Partial pooling over time (Gelman et al. 2013, Bayesian Data Analysis, 3rd ed., ch. 5); "
        "Bass, Krishnan & Jain (1994), Marketing "
        "Science 13(3):203-223 (Generalized Bass Model)",
        sigma=0.3,
    ),
    # --- SIMs per user, official lines, inactive numbers -------------------------------------
    "heavy_user_share": _p(
        "Beta",
        "fraction of unique users",
        "Share pi of users who are heavy users (traders, cadres) holding several SIMs: a second "
        "SIM with its 200 free minutes is cheaper than top-up cards (10-20x the plan price). "
        "Traders are a minority of users; Beta(2, 6): mean 0.25, 90% interval 0.05-0.52.",
        KIM_2013,
        alpha=2,
        beta=6,
    ),
    "sims_beyond_two": _p(
        "Gamma",
        "SIMs per heavy user, beyond two",
        "Heavy users hold m = 2 + this many SIMs. The article's argument gives a second SIM; a "
        "third is plausible for big traders. Gamma(2, 4): mean 0.5 (m = 2.5), 95% below m = 3.2. "
        "GSMA's 1.44-1.98 SIMs per subscriber come from multi-operator markets; Koryolink was a "
        "monopoly until 2013, so the resulting r = 1 + pi (m - 1) is centred lower (~1.4).",
        f"{KIM_2013}; GSMA Intelligence unique-subscriber benchmarks",
        alpha=2,
        beta=4,
    ),
    "official_share": _p(
        "Beta",
        "fraction of active SIMs",
        "Share omega of active numbers in official use (Party, state organs, police, military, "
        "courts, trading companies): 'up to a quarter'. Beta(3, 20): mean 0.13, "
        "P(omega > 0.25) ~ 0.06.",
        KIM_2013,
        alpha=3,
        beta=20,
    ),
    "inactive_share": _p(
        "Beta",
        "fraction of registered SIMs",
        "Share iota of registered numbers with no traffic (inactive or reserved for the elite). "
        "Weakly informative Beta(2, 6) (mean 0.25); the 800k-active statement informs it.",
        KIM_2013,
        alpha=2,
        beta=6,
    ),
    "activity_depression": _p(
        "Beta",
        "fraction of active SIMs",
        "Mourning-restriction variant only: share of normally active numbers silent in the "
        "activity window (100-day restriction on phone use, Dec 2011 - Mar 2012). Beta(2, 8): "
        "mean 0.2.",
        f"{KIM_2013} (reported restriction)",
        alpha=2,
        beta=8,
    ),
    "extra_users_per_holder": _p(
        "Gamma",
        "people per private SIM holder, beyond the holder",
        "Shared-phones variant only: a private SIM holder's phone is used by h = 1 + this many "
        "people in all. The 2017 national household survey found 55.7% of men and 47.9% of "
        "women aged 15-49 owning a mobile phone but 88.8% and 82.5% having used one in the "
        "previous three months: users per owner 1.59 (men) and 1.72 (women). Gamma(3, 4): "
        "median 0.67 (h = 1.67), 90% interval 0.20-1.57 (h 1.2-2.6), wide because the survey "
        "is of 2017 and one age band, not of 2008-2013.",
        MICS_2017,
        alpha=3,
        beta=4,
    ),
    "early_heavy_user_share": _p(
        "Beta",
        "fraction of the early cohort's private users",
        "Access-cohorts variant only: share of heavy users (several SIMs) among the private "
        "users who registered before access opened to the public, when service went to "
        "security officials and licensed traders; traders were the private users of that "
        "period, so the share is centred well above the later one (heavy_user_share, mean "
        "0.25). No figure measures it: Beta(4, 5), mean 0.44, 90% interval 0.19-0.71, "
        "P(below the later share) ~ 0.18.",
        f"{KIM_2013} (who had access before the opening)",
        alpha=4,
        beta=5,
    ),
    "early_official_share": _p(
        "Beta",
        "fraction of the early cohort's active SIMs",
        "Access-cohorts variant only: share of official lines among the active numbers "
        "registered before access opened to the public, when service went first to security "
        "officials; centred at three times the later share (official_share, mean 0.13) but "
        "below a majority. No figure measures it: Beta(4, 6), mean 0.40, 90% interval "
        "0.17-0.66, P(below the later share) ~ 0.04.",
        f"{KIM_2013} (who had access before the opening)",
        alpha=4,
        beta=6,
    ),
}


DOMAINS: dict[str, str] = {
    **{
        name: "positive"
        for name in (
            "population_total",
            "children_under_10",
            "soldiers",
            "innovation_rate",
            "imitation_rate",
            "logistic_rate",
            "gompertz_displacement",
            "gompertz_rate",
            "deviation_scale",
            "sims_beyond_two",
            "extra_users_per_holder",
            "subscription_ceiling",
        )
    },
    **{
        name: "unit"
        for name in (
            "ceiling_share",
            "coverage_at_launch",
            "coverage_end_2009",
            "restricted_pace",
            "heavy_user_share",
            "official_share",
            "inactive_share",
            "activity_depression",
            "early_heavy_user_share",
            "early_official_share",
        )
    },
    "logistic_midpoint": "real",
    "access_open_time": "real",
}
"""Values each model parameter can take (the model takes logs of counts, rates and 1 - share)."""


def prior_interval(prior: Prior, mass: float = 0.9) -> tuple[float, float]:
    """Return the equal-tailed interval of ``prior`` with probability ``mass``.

    Computed by PreliZ (same families and parametrisations as PyMC; Gamma's beta is a rate).
    """
    import preliz

    dist = getattr(preliz, prior.dist)(**prior.params)
    low, high = dist.ppf([(1 - mass) / 2, (1 + mass) / 2])
    return float(low), float(high)


def prior_table() -> list[dict]:
    """Tabulate the default priors for docs and notebooks.

    One row per prior: variable, distribution, 90% ETI of the prior by PreliZ, units,
    justification, source.
    """
    rows = []
    for name, p in DEFAULT_PRIORS.items():
        low, high = prior_interval(p, 0.9)
        rows.append(
            {
                "variable": name,
                "distribution": f"{p.dist}({', '.join(f'{k}={v:g}' for k, v in p.params.items())})",
                "prior 90% ETI": f"{low:.3g} – {high:.3g}",
                "units": p.units,
                "justification": p.justification,
                "source": p.source,
            }
        )
    return rows


def hyperparameter_name(variable: str, parameter: str) -> str:
    """Label of one prior hyperparameter in the model's hyperparameter vector."""
    return f"{variable}__{parameter}"


HYPERPARAMETER_DATA = "prior_hyperparameters"
"""Name of the pm.Data vector holding every prior hyperparameter (dim ``hyperparameter``)."""


def hyperparameter_layout(priors: dict[str, Prior]) -> list[tuple[str, str]]:
    """(variable, parameter) pairs in the order of the model's hyperparameter vector."""
    return [(name, key) for name in sorted(priors) for key in DISTRIBUTIONS[priors[name].dist][1]]


def hyperparameter_values(priors: dict[str, Prior]) -> np.ndarray:
    """Return the hyperparameter vector of ``priors`` (float64, ``hyperparameter_layout`` order)."""
    return np.array(
        [float(priors[name].params[key]) for name, key in hyperparameter_layout(priors)],
        dtype=np.float64,
    )


def _unnamed(prior: Prior, hyperparameters: dict, **kwargs):
    """Return the unnamed PyMC distribution of family ``prior.dist`` with ``hyperparameters``.

    Hyperparameters are numeric or symbolic, by parameter name; ``kwargs`` such as ``size`` go
    to ``.dist``.
    """
    dist_cls, param_names = DISTRIBUTIONS[prior.dist]
    return dist_cls.dist(**{key: hyperparameters[key] for key in param_names}, **kwargs)


def prior_distribution(prior: Prior, **kwargs):
    """Return the unnamed PyMC distribution of ``prior`` with its own (numeric) values.

    Outside any model: for prior CDFs and draws (``kwargs`` such as ``size`` go to ``.dist``).
    """
    return _unnamed(prior, prior.params, **kwargs)


def make_random_variable(name: str, prior: Prior, hyperparameters: dict, **kwargs):
    """Create the PyMC random variable ``name`` of family ``prior.dist``.

    ``hyperparameters`` maps each parameter of the family to a (symbolic) value: in the model,
    entries of the ``HYPERPARAMETER_DATA`` vector.
    """
    dist_cls, param_names = DISTRIBUTIONS[prior.dist]
    return dist_cls(name, **{key: hyperparameters[key] for key in param_names}, **kwargs)


def make_shifted_log_variable(name: str, prior: Prior, hyperparameters: dict, log_offset, **kwargs):
    """Create the random variable ``name`` = log(X) + ``log_offset``, X ~ ``prior`` (positive).

    A change of coordinates, not of prior: X keeps exactly its prior distribution given
    ``log_offset`` (a symbolic function of other variables). PyMC derives the density of the
    new coordinate from X's, Jacobian included: p(y) = p_X(e^(y - offset)) e^(y - offset).
    """
    param_names = DISTRIBUTIONS[prior.dist][1]
    if SUPPORTS[prior.dist] == "real":
        raise ValueError(f"{name}: a {prior.dist} prior has no log coordinates")

    def shifted_log(*args):
        *values, offset, size = args
        return (
            pt.log(_unnamed(prior, dict(zip(param_names, values, strict=True)), size=size)) + offset
        )

    return pm.CustomDist(
        name, *(hyperparameters[key] for key in param_names), log_offset, dist=shifted_log, **kwargs
    )


def prior_log_density(prior: Prior, hyperparameters: dict, value):
    """Return the log density (nats) of ``prior`` at ``value``, as a symbolic expression.

    On the quantity's own scale (no Jacobian): the log_prior term of a quantity the sampler
    reaches through other coordinates.
    """
    return pm.logp(_unnamed(prior, hyperparameters), value)


PRIOR_GROUPS: dict[str, tuple[str, ...]] = {
    "demography": ("population_total", "children_under_10", "soldiers"),
    "ceiling": ("ceiling_share", "subscription_ceiling"),
    "diffusion": (
        "innovation_rate",
        "imitation_rate",
        "logistic_rate",
        "logistic_midpoint",
        "gompertz_displacement",
        "gompertz_rate",
        "restricted_pace",
        "access_open_time",
        "deviation_scale",
        "pace_deviation_observed",
        "pace_innovation_forecast",
    ),
    "coverage": ("coverage_at_launch", "coverage_end_2009"),
    "heavy_users": ("heavy_user_share", "sims_beyond_two", "early_heavy_user_share"),
    "official_share": ("official_share", "early_official_share"),
    "inactive_share": ("inactive_share",),
    "activity": ("activity_depression",),
    "sharing": ("extra_users_per_holder",),
}
"""The priors in groups that answer one question each (power-scaled together by
``bayes_koryo.validation.sensitivity.prior_group_sensitivity``): how many people there are;
what share of them could ever subscribe (the subscription-ceiling variant: how many SIMs
could ever be registered); how fast adoption went (growth curve, pace, access
clock); network coverage; how many SIMs heavy users hold (π and m; also the early cohort's π
in the access-cohorts variant); the share of official lines (ω; also the early cohort's);
the share of inactive numbers (iota); the depressed activity of the 800k statement; how many
people share a holder's phone (shared-phones variant)."""


def prior_groups(names) -> dict[str, list[str]]:
    """Return ``PRIOR_GROUPS`` restricted to ``names`` (e.g. a run's ``log_prior`` variables).

    Groups without any of ``names`` are left out; a name in no group raises ValueError.
    """
    names = list(names)
    known = {n for members in PRIOR_GROUPS.values() for n in members}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"prior(s) {', '.join(unknown)} belong to no group of PRIOR_GROUPS")
    groups = {g: [n for n in members if n in names] for g, members in PRIOR_GROUPS.items()}
    return {g: members for g, members in groups.items() if members}
