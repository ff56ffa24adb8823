"""Model configs: defaults, TOML overrides, validation before any compilation."""

from __future__ import annotations

from pathlib import Path

import pytest

from bayes_koryo.errors import ConfigError
from bayes_koryo.model.config import DEFAULTS, config_from_dict, default_config, load_config
from bayes_koryo.model.priors import DEFAULT_PRIORS

ROOT = Path(__file__).resolve().parents[2]


def _without_labels(config) -> dict:
    d = config.to_dict()
    d.pop("name"), d.pop("description")
    return d


def test_baseline_toml_restates_the_defaults():
    assert _without_labels(load_config(ROOT / "models" / "baseline.toml")) == _without_labels(
        default_config()
    )


def test_every_prior_has_a_justification_source_and_units():
    for name, prior in DEFAULT_PRIORS.items():
        assert len(prior.justification) > 40, name
        assert prior.source, name
        assert prior.units, name
        prior.validate(name)


NUMBER = r"(\d+(?:\.\d+)?)"
QUOTED_90 = (rf"90%(?: interval)?:? {NUMBER}-{NUMBER}", rf"spans {NUMBER}-{NUMBER} \(90%\)")
"""How a justification quotes its prior's 90% interval ("90% interval 0.07-0.29", "(90%:
0.26-0.58)", "spans 0.008-0.11 (90%)")."""


def test_every_quoted_prior_interval_is_the_priors_own():
    """A 90% interval quoted in a prior's justification (and so in baseline.toml and the
    notebooks) is the prior's equal-tailed interval by PreliZ, to the digits quoted."""
    import re

    from bayes_koryo.model.priors import prior_interval

    checked = 0
    for name, prior in DEFAULT_PRIORS.items():
        text = prior.justification.replace("\n", " ")
        for pattern in QUOTED_90:
            for quoted in re.findall(pattern, text):
                exact = prior_interval(prior, 0.9)
                for q, e in zip(quoted, exact, strict=True):
                    decimals = len(q.split(".")[1]) if "." in q else 0
                    assert abs(float(q) - e) <= 0.5 * 10**-decimals + 1e-12, (
                        f"{name}: quoted 90% interval {quoted}, PreliZ gives {exact}"
                    )
                checked += 1
    assert checked >= 6  # ceiling, innovation, imitation, two coverages, heavy users


def test_user_values_merge_over_defaults_and_defaults_stay_untouched():
    before = repr(DEFAULTS)
    config = config_from_dict(
        {"priors": {"official_share": {"beta": 10.0}}, "sampler": {"draws": 50}}
    )
    assert config.priors["official_share"].params == {"alpha": 3.0, "beta": 10.0}
    assert config.sampler.draws == 50 and config.sampler.chains == 4
    assert repr(DEFAULTS) == before


def test_a_new_family_replaces_the_prior():
    config = config_from_dict(
        {"priors": {"official_share": {"dist": "Beta", "alpha": 1, "beta": 1}}}
    )
    assert config.priors["official_share"].params == {"alpha": 1.0, "beta": 1.0}
    with pytest.raises(ConfigError, match="LogNormal takes parameters mu, sigma; missing mu"):
        config_from_dict({"priors": {"official_share": {"dist": "LogNormal", "sigma": 1}}})


def test_extends_merges_over_the_parent(tmp_path):
    (tmp_path / "base.toml").write_text('name = "base"\n[sampler]\ndraws = 10\n')
    (tmp_path / "variant.toml").write_text('extends = "base.toml"\n[growth]\nform = "gompertz"\n')
    config = load_config(tmp_path / "variant.toml")
    assert (config.name, config.growth_form, config.sampler.draws) == ("variant", "gompertz", 10)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"grwoth": {}}, "unknown key 'grwoth' \\(did you mean 'growth'\\?\\)"),
        ({"growth": {"from": "bass"}}, "unknown key 'from' \\(did you mean 'form'\\?\\)"),
        ({"growth": {"form": "bas"}}, "unknown form 'bas' \\(did you mean 'bass'\\?\\)"),
        ({"sampler": {"draws": "many"}}, "sampler.draws: expected int, got 'many'"),
        ({"sampler": {"draws": 0}}, "sampler.draws: must be >= 1"),
        ({"priors": {"official_share": {"beta": -1}}}, "priors.official_share.beta: must be > 0"),
        ({"priors": {"soldiers": {"sigma": 0}}}, "priors.soldiers.sigma: must be > 0"),
        ({"priors": {"official_shar": {"beta": 1}}}, "did you mean 'official_share'"),
        ({"priors": {"soldiers": {"dist": "Cauchy"}}}, "unknown distribution 'Cauchy'"),
        ({"time": {"horizon": "2008-01-01"}}, "time.horizon 2008-01-01 must be after"),
        ({"time": {"launch": "15/12/2008"}}, "expected an ISO date"),
        ({"observations": {"kinds": ["audited"]}}, "unknown kind 'audited'"),
        ({"observations": {"log_sd": {"milestone": 0}}}, "log_sd.milestone: must be > 0"),
        ({"structure": {"shared_phones": "yes"}}, "structure.shared_phones: expected bool"),
        ({"structure": {"shared_phone": True}}, "did you mean 'shared_phones'"),
        ({"structure": {"ceiling_prior": "user"}}, "ceiling_prior: unknown choice 'user'"),
        (
            {"structure": {"composition": "cohorts"}},
            "structure.composition: unknown composition 'cohorts'",
        ),
    ],
)
def test_bad_configs_fail_with_one_clear_line(table, message):
    with pytest.raises(ConfigError, match=message) as info:
        config_from_dict(table, source="bad.toml")
    assert "\n" not in str(info.value) and str(info.value).startswith("bad.toml")


def test_invalid_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[growth\nform = 1")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="no such model config"):
        load_config(tmp_path / "missing.toml")
