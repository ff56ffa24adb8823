"""Regenerate models/baseline.toml from the defaults in code (priors with their reasons).

Run after changing a default: ``.venv/bin/python scripts/write_baseline_toml.py``.
tests/model/test_config.py checks that the file and the defaults agree.
"""

import textwrap
from pathlib import Path

from bayes_koryo.model.config import DEFAULTS
from bayes_koryo.model.priors import DEFAULT_PRIORS


def _value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, list):
        return "[\n" + "".join(f"    {_value(x)},\n" for x in v) + "]"
    return repr(v)


SAMPLER_COMMENTS = {
    "target_accept": "0.95: with the pinned coordinates 0.9 left 1-2 divergent transitions in "
    "3 of 4 seeds (BENCHMARKS.md, 'Sampler coordinates').",
    "coordinates": "pinned: sample the log subscription ceiling K, log(K x innovation rate) and "
    "log(K x innovation rate x restricted pace), which the reported figures "
    "determine; original: sample ceiling_share, innovation_rate and "
    "restricted_pace themselves (same prior and posterior; MODEL.md).",
    "pace_centring": "1: the observed periods' pace deviations are sampled centred; c < 1: "
    "the sampler moves w ~ Normal(0, sd^c) and the deviation is sd^(1-c) w (same prior).",
}
"""Comment lines written above a sampler setting."""


def render() -> str:
    out = [
        "# Baseline model of bayes_koryo: every setting and prior, as the defaults in code.",
        '# Variants in this folder start with `extends = "baseline.toml"` and override keys.',
        "# Units: counts in millions, time in years since launch (15 Dec 2008).",
        "",
        'name = "baseline"',
        'description = "Bass diffusion within the covered population on an access-regime clock, '
        'pace deviations per report period, all kinds of figures"',
        "",
        "[growth]",
        f'form = "{DEFAULTS["growth"]["form"]}"  # bass | logistic | gompertz',
        "",
        "[time]",
        *(f"{k} = {_value(v)}" for k, v in DEFAULTS["time"].items()),
        "",
        "[observations]",
        f"kinds = {_value(DEFAULTS['observations']['kinds'])}",
        "activity_depressed = false  # true: mourning-restriction variant of the 800k statement",
        "",
        "[observations.log_sd]  # sd of the log-scale reporting error / softness of cell edges",
        *(f"{k} = {v!r}" for k, v in DEFAULTS["observations"]["log_sd"].items()),
        "",
        "[structure]",
        "shared_phones = false  # true: a SIM holder's phone serves "
        "1 + extra_users_per_holder people",
        'ceiling_prior = "users"  # "subscriptions": the prior is on the subscription ceiling '
        "(subscription_ceiling) and the user ceiling is derived",
        'composition = "constant"  # "access_cohorts": SIMs registered before access opened keep '
        "an early composition (early_heavy_user_share, early_official_share)",
        "",
    ]
    for name, prior in DEFAULT_PRIORS.items():
        reason = textwrap.wrap(f"{prior.justification} Source: {prior.source}.", 94)
        out += [f"# {line}" for line in reason]
        out.append(f"[priors.{name}]  # {prior.units}")
        out.append(f'dist = "{prior.dist}"')
        out += [f"{k} = {v!r}" for k, v in prior.params.items()]
        out.append("")
    out.append("[sampler]")
    for k, v in DEFAULTS["sampler"].items():
        out += [f"# {line}" for line in textwrap.wrap(SAMPLER_COMMENTS.get(k, ""), 94)]
        out.append(f"{k} = {v!r}")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    path = Path(__file__).resolve().parents[1] / "models" / "baseline.toml"
    path.write_text(render(), encoding="utf-8")
    print(f"wrote {path}")
